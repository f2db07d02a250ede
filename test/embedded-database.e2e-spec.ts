import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { createServer, Server } from 'node:net';
import { join } from 'node:path';
import { isServerFor, readPostmaster } from '../src/database/postmaster-pid';
import { isRunning } from '../src/database/processes';
import {
  freePort,
  MAIN,
  ROOT,
  run,
  Spawned,
  temporaryDataDirs,
  waitForStatus,
  waitUntil,
} from '../sandbox/world/processes';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'cli.js');
const TYPEORM = join(ROOT, 'node_modules', 'typeorm', 'cli.js');
const asRoot = process.getuid?.() === 0;

/** Each test runs processes of its own (DATA_DIR, ports): side by side they take half the time. */
const it = test.concurrent;

/**
 * The compiled bridge on its embedded PostgreSQL server (DATA_DIR/postgres):
 * what an operator meets when a process dies, when CLI commands run beside
 * the bridge, and when DATA_DIR is not what it should be.
 */
describe('the embedded database', () => {
  const started: Spawned[] = [];
  const dataDirs = temporaryDataDirs('bridge-embedded-');
  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await dataDirs.removeAll();
  });
  const newDataDir = () => dataDirs.create();

  /** A bridge on DATA_DIR; resolves once it is ready. */
  const startBridge = async (dataDir: string, as: { uid?: number; gid?: number } = {}) => {
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const bridge = run(MAIN, env, [], as);
    started.push(bridge);
    const ready = `http://127.0.0.1:${port}/health/ready`;
    await waitForStatus(ready, 200, bridge);
    return { bridge, ready };
  };

  /** A bridge on DATA_DIR that must refuse to start: exit code 1; resolves to its output. */
  const failedStart = async (dataDir: string) => {
    const env = { DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' };
    const bridge = run(MAIN, env);
    started.push(bridge);
    const { code } = await bridge.exited;
    expect(code).toBe(1);
    return bridge.output();
  };

  const stopBridge = async (bridge: Spawned) => {
    bridge.child.kill('SIGTERM');
    const { code, signal } = await bridge.exited;
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
  };

  it('a SIGTERM while the bridge starts ends in a clean stop once it has started, leaving no server', async () => {
    const dataDir = newDataDir();
    const pgdata = join(dataDir, 'postgres');
    const env = { DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' };
    const bridge = run(MAIN, env);
    started.push(bridge);
    // initdb has begun: the server, its migrations and the application are still to come.
    await waitUntil('initdb under way', () => existsSync(pgdata));
    bridge.child.kill('SIGTERM');
    const { code, signal } = await bridge.exited;
    expect(bridge.output()).toContain('SIGTERM: the bridge stops once it has started');
    expect(bridge.output()).toContain('SIGTERM arrived while starting: stopping');
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
    expectNoServerLeft(pgdata, bridge);
  }, 120_000);

  it('after a kill -9 of the bridge, the next start stops the server it left and is ready, saying so once', async () => {
    const dataDir = newDataDir();
    const pgdata = join(dataDir, 'postgres');
    const { bridge: first } = await startBridge(dataDir);
    const server = readPostmaster(pgdata)!;
    first.child.kill('SIGKILL');
    await first.exited;
    // The server outlives a killed bridge: the case to handle.
    expect(isServerFor(server.pid, pgdata)).toBe(true);

    const { bridge: again } = await startBridge(dataDir);
    const notices = again.output().match(/that an earlier process left running/g) ?? [];
    expect(notices).toHaveLength(1);
    expect(again.output()).toContain(`Stopped the PostgreSQL server (pid ${server.pid})`);
    expect(isRunning(server.pid)).toBe(false);
    expect(readPostmaster(pgdata)!.pid).not.toBe(server.pid);

    expect(again.output()).not.toContain(password(dataDir));
    await stopBridge(again);
    // A clean stop leaves no server behind.
    expectNoServerLeft(pgdata, again);
  }, 240_000);

  it('the CLI and the TypeORM CLI use the server of a running bridge; alone they run and stop their own', async () => {
    const dataDir = newDataDir();
    const pgdata = join(dataDir, 'postgres');
    const show = () =>
      run(TYPEORM, { DATA_DIR: dataDir }, [
        '-d',
        join(ROOT, 'dist/ormconfig.js'),
        'migration:show',
      ]);

    // No bridge: the command starts the server, and stops it when done.
    const alone = show();
    expect((await alone.exited).code).toBe(0);
    expect(alone.output()).toContain('[ ] InitialSchema1764300000000');
    expect(existsSync(join(pgdata, 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'embedded-postgres.lock'))).toBe(false);

    const { bridge, ready } = await startBridge(dataDir);
    const server = readPostmaster(pgdata)!;

    const beside = show();
    expect((await beside.exited).code).toBe(0);
    expect(beside.output()).toContain('[X] 1 InitialSchema1764300000000');

    const add = run(CLI, { DATA_DIR: dataDir }, [
      'subscriptions',
      'add',
      'acme/widgets',
      '--flow-token',
      'flow-token-of-acme-main',
    ]);
    expect((await add.exited).code).toBe(0);
    const list = run(CLI, { DATA_DIR: dataDir }, ['subscriptions', 'list']);
    expect((await list.exited).code).toBe(0);
    expect(list.output()).toContain('acme/widgets');
    for (const command of [alone, beside, add, list, bridge]) {
      expect(command.output()).not.toContain(password(dataDir));
    }

    // The commands left the bridge's server alone.
    expect(readPostmaster(pgdata)!.pid).toBe(server.pid);
    await waitForStatus(ready, 200, bridge);
    await stopBridge(bridge);
  }, 240_000);

  it('when the server dies under a running bridge, readiness answers 503 until the bridge has restarted it', async () => {
    const dataDir = newDataDir();
    const pgdata = join(dataDir, 'postgres');
    const { bridge, ready } = await startBridge(dataDir);
    const server = readPostmaster(pgdata)!;

    // Hold the bridge still while its server is killed and its port taken, so
    // the restart cannot succeed before this test has seen readiness fail.
    bridge.child.kill('SIGSTOP');
    let blocker: Server;
    try {
      process.kill(server.pid, 'SIGKILL');
      await waitUntil('the killed server gone', () => !isRunning(server.pid));
      blocker = await holdPort(server.port);
    } finally {
      bridge.child.kill('SIGCONT');
    }
    await waitForStatus(ready, 503, bridge);
    blocker.close();

    await waitForStatus(ready, 200, bridge);
    const restarted = readPostmaster(pgdata)!;
    expect(restarted.pid).not.toBe(server.pid);
    expect(restarted.port).toBe(server.port);
    expect(bridge.output()).toContain(
      `The embedded PostgreSQL server (pid ${server.pid}) stopped unexpectedly`,
    );
    await stopBridge(bridge);
  }, 240_000);

  it('refuses a DATA_DIR of an older version (DATA_DIR/pgdata) with a message saying what to do, and exit code 1', async () => {
    const dataDir = newDataDir();
    mkdirSync(join(dataDir, 'pgdata'));
    writeFileSync(join(dataDir, 'pgdata', 'PG_VERSION'), '17\n');
    const output = await failedStart(dataDir);
    expect(output).toContain('created by an older version');
    expect(output).toContain('move it away');
    expect(output).not.toMatch(/^\s+at /m); // a message, not a stack trace
    expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
  }, 120_000);

  (asRoot ? it : it.skip)(
    'as root, names the directory the server user cannot enter',
    async () => {
      const closed = newDataDir(); // mkdtemp: 0700, owned by root
      const dataDir = join(closed, 'data');
      const output = await failedStart(dataDir);
      expect(output).toContain(`cannot enter ${closed} (mode 0700, owner uid 0)`);
      expect(output).toContain('chmod o+x');
    },
    120_000,
  );

  (asRoot ? it : it.skip)(
    'runs as a normal user: the server runs as that user, with its files owned by it',
    async () => {
      const nobody = { uid: 65534, gid: 65534 };
      const dataDir = newDataDir();
      chownSync(dataDir, nobody.uid, nobody.gid);
      chmodSync(dataDir, 0o700);
      const { bridge } = await startBridge(dataDir, nobody);
      const pgdata = join(dataDir, 'postgres');
      expect(statSync(pgdata).uid).toBe(nobody.uid);
      expect(statSync(join(dataDir, 'postgres-password')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dataDir, 'postgres-password')).uid).toBe(nobody.uid);
      await stopBridge(bridge);
      expectNoServerLeft(pgdata, bridge);
    },
    240_000,
  );
});

/** No postmaster.pid in pgdata after `bridge` stopped; its output tells why, if one is left. */
function expectNoServerLeft(pgdata: string, bridge: Spawned): void {
  const left = existsSync(join(pgdata, 'postmaster.pid'));
  expect(left ? `postmaster.pid left; the bridge wrote:\n${bridge.output()}` : 'none left').toBe(
    'none left',
  );
}

/** The embedded server's generated password: it must never be printed. */
function password(dataDir: string): string {
  const value = readFileSync(join(dataDir, 'postgres-password'), 'utf8').trim();
  expect(value.length).toBeGreaterThanOrEqual(32);
  return value;
}

/** Listens on 127.0.0.1:port as soon as it is free, dropping every connection (a server that never answers). */
async function holdPort(port: number): Promise<Server> {
  for (let attempt = 0; ; attempt++) {
    const server = createServer((socket) => socket.destroy());
    server.listen(port, '127.0.0.1');
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => Promise.reject(error as Error)),
      ]);
      return server;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 200) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
