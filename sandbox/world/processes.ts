import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isServerFor, readPostmaster } from '../../src/database/postmaster-pid';
import { isRunning } from '../../src/database/processes';

/**
 * The checkout: the first folder above this file with a package.json (this
 * file runs from sandbox/world under ts-jest, from dist-bench/sandbox/world
 * once compiled).
 */
function checkout(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const ROOT = checkout();
/** The production build of the bridge (`npm run build`). */
export const MAIN = join(ROOT, 'dist', 'src', 'main.js');

/**
 * Where freePort() looks: below the kernel's ephemeral range, where every
 * listen(0) and every outgoing connection of these processes lands. A port
 * from there, free when handed out, could be taken by an in-process server
 * (a test app on port 0, supertest) before the bridge it was meant for
 * listens — and a poll of its /health/ready would then reach the wrong
 * process. Each jest worker draws from a block of its own.
 */
const PORT_BLOCK = 500;
const PORT_BLOCKS = 16;

function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    if (Number.isInteger(low) && low > 1024 + PORT_BLOCK * PORT_BLOCKS) return low;
  } catch {
    // not Linux: the IANA range's start, used by macOS
  }
  return 49_152;
}

const portBlock = (() => {
  const worker = Number(process.env.JEST_WORKER_ID ?? 0) % PORT_BLOCKS;
  return ephemeralLow() - PORT_BLOCK * (PORT_BLOCKS - worker);
})();
let portOffset = process.pid % PORT_BLOCK;

/** A port on 127.0.0.1 that nothing listens on, for a process about to be started on it. */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < PORT_BLOCK; tried++) {
    const port = portBlock + (portOffset++ % PORT_BLOCK);
    const server = createServer();
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!listening) continue;
    server.close();
    await once(server, 'close');
    return port;
  }
  throw new Error(`no free port in ${portBlock}-${portBlock + PORT_BLOCK - 1}`);
}

export interface Spawned {
  child: ChildProcess;
  /** What it has written so far, stdout and stderr together. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RunOptions {
  /** Runs it as another OS user (the tests run as root). */
  uid?: number;
  gid?: number;
  /** Node options, before the script. */
  nodeArgs?: string[];
  /**
   * Its working directory. Unset: an empty directory of its own, so a
   * developer's .env (read from the working directory) and ./data stay out.
   */
  cwd?: string;
  /** Writes its output to stderr if it exits with a code other than 0. */
  reportFailure?: boolean;
}

/** Every process `run` started, for `stopChildrenOnExit`. */
const children: ChildProcess[] = [];

/** An empty directory any OS user may enter. */
function workingDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-cwd-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** Runs a script (or node `-e` with `args`) with exactly the given environment, plus PATH. */
export function run(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  options: RunOptions = {},
): Spawned {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    uid: options.uid,
    gid: options.gid,
    cwd: options.cwd ?? workingDirectory(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (options.reportFailure && code)
        process.stderr.write(`${script} exited ${code}:\n${output}\n`);
      resolve({ code, signal });
    }),
  );
  return { child, output: () => output, exited };
}

/**
 * Polls GET url until it answers `status`; resolves with the milliseconds it
 * took. Throws when `process` exits first (with its output), or after
 * `timeoutMs` — a limit for a hung process, not a performance assertion.
 */
export async function waitForStatus(
  url: string,
  status: number,
  process?: Spawned,
  timeoutMs = 90_000,
  pollMs = 100,
): Promise<number> {
  const started = performance.now();
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
      if (res.status === status) return performance.now() - started;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(pollMs);
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function stop(process: Spawned, graceMs = 30_000): Promise<void> {
  const { child } = process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await process.exited;
  clearTimeout(timer);
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
    await sleep(50);
  }
}

/**
 * Temporary DATA_DIRs for bridges, removed by `removeAll()` (an embedded
 * cluster is 40 MB). A server a killed bridge left running in one is stopped
 * first, as the next start would stop it, so none outlives the run. `mode`:
 * 0o755 lets an embedded server running as its own OS user in (mkdtemp makes
 * 0700).
 */
export function temporaryDataDirs(prefix: string, { mode }: { mode?: number } = {}) {
  const dirs: string[] = [];
  return {
    /** A new one; `name` instead of the prefix, for telling them apart. */
    create(name = prefix): string {
      const dir = mkdtempSync(join(tmpdir(), name));
      if (mode !== undefined) chmodSync(dir, mode);
      dirs.push(dir);
      return dir;
    },
    async removeAll(): Promise<void> {
      for (const dir of dirs.splice(0)) {
        const pgdata = join(dir, 'postgres');
        const server = readPostmaster(pgdata);
        if (server && isServerFor(server.pid, pgdata)) {
          process.kill(server.pid, 'SIGINT'); // a fast shutdown
          await waitUntil(`the server left in ${dir} stopped`, () => !isRunning(server.pid));
        }
        rmSync(dir, { recursive: true, force: true });
      }
    },
    /** For an exit handler, which cannot wait: removes the directories only. */
    removeAllNow(): void {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let stoppingOnExit = false;

/**
 * For a script (the benchmarks) rather than a test run: when it exits,
 * whatever happens, the processes `run` started are stopped and then
 * `cleanUp` runs. SIGTERM first: a bridge on the embedded database stops its
 * PostgreSQL server on the way out, SIGKILL would leave the server running.
 */
export function stopChildrenOnExit(cleanUp: () => void = () => undefined): void {
  if (stoppingOnExit) return;
  stoppingOnExit = true;
  process.on('exit', () => {
    // An exit handler cannot await: wait synchronously, a little.
    const alive = () =>
      children.filter(
        (c) => c.exitCode === null && c.signalCode === null && c.pid && isRunning(c.pid),
      );
    alive().forEach((c) => c.kill('SIGTERM'));
    for (let i = 0; i < 100 && alive().length > 0; i++) spawnSync('sleep', ['0.1']);
    alive().forEach((c) => c.kill('SIGKILL'));
    cleanUp();
  });
  // A signal ends the process without 'exit' unless it is handled (an interrupted soak left
  // its bridge running): exit instead, so the handler above stops the children.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(128 + constants.signals[signal]));
  }
}
