import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  MAIN,
  ROOT,
  run,
  Spawned,
  temporaryDataDirs,
  waitForStatus,
} from '../sandbox/world/processes';

/** Each test runs processes of its own (DATA_DIR, ports): side by side they take half the time. */
const it = test.concurrent;

/**
 * The compiled bridge as an operator runs it (`npm start` runs dist/src/main.js;
 * `npm test` builds first).
 */
describe('the bridge process', () => {
  const started: Spawned[] = [];
  const dataDirs = temporaryDataDirs('bridge-process-');
  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await dataDirs.removeAll();
  });

  const start = (env: Record<string, string>) => {
    const p = run(MAIN, { LOG_LEVEL: 'warn', ...env });
    started.push(p);
    return p;
  };

  /** Reads the installation id straight from the embedded database (bridge stopped). */
  const installationId = async (dataDir: string) => {
    const script = `
      const { EmbeddedPostgres } = require(${JSON.stringify(join(ROOT, 'dist/src/database/embedded-postgres.js'))});
      const { Client } = require(${JSON.stringify(join(ROOT, 'node_modules/pg'))});
      (async () => {
        const db = await EmbeddedPostgres.start(process.argv[1]);
        const client = new Client({ connectionString: db.url });
        await client.connect();
        const { rows } = await client.query('SELECT id FROM installation');
        process.stdout.write(rows[0].id);
        await client.end();
        await db.stop();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const p = run('-e', {}, [script, dataDir]);
    const [{ code }] = await Promise.all([p.exited]);
    if (code !== 0) throw new Error(p.output());
    return p.output().trim();
  };

  it('starts on the embedded database, keeps data and secrets across restarts, and refuses a second process', async () => {
    const dataDir = dataDirs.create();
    const port = await freePort();
    const first = start({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, first);
    const secrets = readFileSync(join(dataDir, 'secrets.json'), 'utf8');

    const second = start({ DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' });
    const { code } = await second.exited;
    expect(code).not.toBe(0);
    expect(second.output()).toContain(`in use by process ${first.child.pid}`);
    // The first one is unharmed.
    await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, first);

    first.child.kill('SIGTERM');
    const stopped = await first.exited;
    expect(stopped.code === 0 || stopped.signal === 'SIGTERM').toBe(true);
    expect(existsSync(join(dataDir, 'embedded-postgres.lock'))).toBe(false);

    const id = await installationId(dataDir);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const again = start({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, again);
    again.child.kill('SIGTERM');
    await again.exited;

    expect(await installationId(dataDir)).toBe(id);
    expect(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).toBe(secrets);
  }, 240_000);

  it('uses the server named by DATABASE_URL', async () => {
    const port = await freePort();
    const p = start({
      DATABASE_URL: process.env.E2E_DATABASE_URL!,
      DATA_DIR: dataDirs.create(),
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, p);
    p.child.kill('SIGTERM');
    await p.exited;
  }, 120_000);

  it('refuses to start in production with secrets missing, naming every one', async () => {
    const dataDir = dataDirs.create();
    const p = start({ NODE_ENV: 'production', DATA_DIR: dataDir, COOKIE_SECRET: 'tiny-c00kie' });
    const { code } = await p.exited;
    expect(code).toBe(1);
    for (const name of [
      'PUBLIC_URL',
      'FLOWDOCK_CLIENT_ID',
      'FLOWDOCK_CLIENT_SECRET',
      'COOKIE_SECRET',
      'TOKEN_ENCRYPTION_KEY',
      'GITHUB_WEBHOOK_SECRET',
      'GITHUB_CLIENT_ID',
      'GITHUB_CLIENT_SECRET',
    ]) {
      expect(p.output()).toContain(`${name}:`);
    }
    expect(p.output()).not.toContain('tiny-c00kie');
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false);
  });
});
