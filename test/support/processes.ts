import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isServerFor, readPostmaster } from '../../src/database/postmaster-pid';
import { isRunning } from '../../src/database/processes';

export const ROOT = join(__dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'src', 'main.js');

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** An empty directory any OS user may enter. */
function workingDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-cwd-'));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Runs a compiled script of the project with exactly the given environment
 * (plus PATH); `as` runs it as another OS user (the test runs as root). It runs
 * in a directory of its own, so a developer's .env (read from the working
 * directory) and ./data stay out of the test.
 */
export function run(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  as: Pick<SpawnOptions, 'uid' | 'gid'> = {},
): Spawned {
  const child = spawn(process.execPath, [script, ...args], {
    ...as,
    cwd: workingDirectory(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/**
 * Polls GET url until it answers `status`. Throws when `process` exits first
 * (with its output), or after `timeoutMs` — a limit for a hung process, not a
 * performance assertion: a loaded CI machine may start slowly.
 */
export async function waitForStatus(
  url: string,
  status: number,
  process?: Spawned,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (process && process.child.exitCode !== null) {
      throw new Error(
        `exited with ${process.child.exitCode} before ${url} answered:\n${process.output()}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs` (a limit for a hang). */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Temporary DATA_DIRs for bridges, removed by `removeAll()` (an embedded
 * cluster is 40 MB). A server a killed bridge left running in one is stopped
 * first, as the next start would stop it, so none outlives the test run.
 */
export function temporaryDataDirs(prefix: string) {
  const dirs: string[] = [];
  return {
    create(): string {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    async removeAll(): Promise<void> {
      for (const dir of dirs) {
        const pgdata = join(dir, 'postgres');
        const server = readPostmaster(pgdata);
        if (server && isServerFor(server.pid, pgdata)) {
          process.kill(server.pid, 'SIGINT'); // a fast shutdown
          await waitUntil(`the server left in ${dir} stopped`, () => !isRunning(server.pid));
        }
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
