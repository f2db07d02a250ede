import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, MAIN, waitForStatus } from '../sandbox/world/processes';

/**
 * The compiled bridge started as `npm start` would, in a directory holding a
 * `.env`: the file completes the environment, and what the environment sets wins.
 */
describe('the bridge reads .env from its working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-dotenv-'));
  let port: number;
  let output = '';
  let child: ReturnType<typeof spawn> | undefined;

  // docker-compose.yml gives the bridge its database password as PGPASSWORD, beside a
  // DATABASE_URL without one (no URL escaping needed); the .env here does the same. On the
  // embedded test database (the default) the server checks that password.
  const database = new URL(process.env.E2E_DATABASE_URL!);
  const password = decodeURIComponent(database.password);
  database.password = '';

  beforeAll(async () => {
    port = await freePort();
    writeFileSync(
      join(dir, '.env'),
      [
        'NODE_ENV=test',
        `PORT=${port}`,
        'HOST=127.0.0.1',
        `DATABASE_URL=${database.toString()}`,
        `PGPASSWORD='${password}'`,
        `DATA_DIR=${join(dir, 'data')}`,
        'LOG_LEVEL=info',
        'PUBLIC_URL=http://public-url-from-dotenv.test',
        'FLOWDOCK_API_URL=http://flowdock-from-dotenv.test:9',
      ].join('\n'),
    );
    child = spawn(process.execPath, [MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', PUBLIC_URL: 'http://public-url-from-environment.test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200).catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes PORT, DATABASE_URL and the URLs from .env, and says it read it', async () => {
    const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(home).toContain('http://flowdock-from-dotenv.test:9');
    expect(output).toContain(`Read variables not set in the environment from ${join(dir, '.env')}`);
  });

  it('connects with the password from PGPASSWORD, not in DATABASE_URL', async () => {
    expect(database.password).toBe('');
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    if (password) expect(output).not.toContain(password);
  });

  it('lets a variable set in the environment win over .env', async () => {
    const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(home).toContain('http://public-url-from-environment.test/flowdock/setup');
    expect(home).not.toContain('public-url-from-dotenv');
  });

  it('without a Flowdock application, /account says what to set instead of redirecting', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/account`, { redirect: 'manual' });
    expect(res.status).toBe(503);
    expect(res.headers.get('location')).toBeNull();
    const page = await res.text();
    expect(page).toContain('Flowdock sign-in is not set up');
    expect(page).toMatch(/FLOWDOCK_CLIENT_ID and FLOWDOCK_CLIENT_SECRET are not set/);
    expect(page).toContain('http://flowdock-from-dotenv.test:9 would refuse the sign-in');
    expect(page).toContain('also needs GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET');
    expect(page).toContain(
      'Set FLOWDOCK_CLIENT_ID, FLOWDOCK_CLIENT_SECRET, GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET',
    );
  });
});
