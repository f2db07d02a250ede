import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Processes the benchmark starts, killed when it exits whatever happens. */
const children: ChildProcess[] = [];
const outputs = new WeakMap<ChildProcess, () => string>();

/** What a process started by `start` has written so far (stdout and stderr). */
export const outputOf = (child: ChildProcess) => outputs.get(child)?.() ?? '';

/** A progress line on stderr, with the seconds since the benchmark started. */
export function progress(line: string): void {
  process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${line}\n`);
}
/** DATA_DIRs made by `freshDataDir`, removed when the benchmark exits. */
const dataDirs: string[] = [];
process.on('exit', () => {
  // SIGTERM first: a bridge on the embedded database (or the embedded-db target) stops its
  // PostgreSQL server on the way out; SIGKILL would leave the server running. An exit
  // handler cannot await, so wait synchronously, a little.
  const alive = () =>
    children.filter((c) => c.exitCode === null && c.signalCode === null && isRunning(c.pid));
  alive().forEach((c) => c.kill('SIGTERM'));
  for (let i = 0; i < 100 && alive().length > 0; i++) spawnSync('sleep', ['0.1']);
  alive().forEach((c) => c.kill('SIGKILL'));
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

// A signal ends the process without 'exit' unless it is handled (an interrupted soak left its
// bridge running): exit instead, so the handler above stops the children.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => process.exit(128 + constants.signals[signal]));
}

/** Alive and not a zombie (nobody reaps children while the exit handler runs). */
function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Runs a compiled script with exactly `env` (plus PATH); its output is shown if it fails. */
export function start(
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.on('exit', (code) => {
    if (code && code !== 0) process.stderr.write(`${script} exited ${code}:\n${output}\n`);
  });
  outputs.set(child, () => output);
  children.push(child);
  return child;
}

/** Polls `url` every 10 ms until it answers 2xx; resolves with the milliseconds it took. */
export async function waitReady(url: string, child: ChildProcess): Promise<number> {
  const started = performance.now();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited before it was ready`);
    try {
      if ((await fetch(url)).ok) return performance.now() - started;
    } catch {
      // not up yet
    }
    await sleep(10);
  }
  throw new Error(`${url} was not ready within 120 s`);
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A field of /proc/PID/status or /proc/PID/smaps_rollup, KiB; 0 once the process is gone. */
export function procKiB(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Node options for a bridge process: with BENCH_CPU_PROF=dir, a CPU profile
 * of it is written to dir/name when it stops (read with bench/profile-summary).
 */
export function profiling(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  // BENCH_BRIDGE_NODE_ARGS: node options for the bridge processes only (e.g. V8 heap flags to compare).
  const extra = (process.env.BENCH_BRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...extra, ...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}/${name}`] : [])];
}

/** The most memory the process has held so far. */
export const peakRssMiB = (pid: number) => Math.round(procKiB(pid, 'status', 'VmHWM') / 1024);
/** The memory the process holds now. */
export const rssMiB = (pid: number) => Math.round(procKiB(pid, 'status', 'VmRSS') / 1024);

/** Waits until `check` holds, polling every 20 ms; throws after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The q-quantile (0..1) of `values`, nearest rank; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** How long a phase may wait for messages or rows (BENCH_DRAIN_TIMEOUT, s). */
export const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_DRAIN_TIMEOUT ?? 120) * 1000;
/** A count that has not moved for this long is not going to reach its target. */
const DRAIN_STALL_MS = 15_000;

/**
 * Polls `count` every 20 ms until it reaches `target`; gives up after
 * DRAIN_TIMEOUT_MS, or sooner when it has not moved for DRAIN_STALL_MS.
 * Resolves with the last count and how long it took.
 */
export async function drain(
  count: () => number | Promise<number>,
  target: number,
): Promise<{ count: number; ms: number }> {
  const started = Date.now();
  let last = await count();
  let moved = started;
  while (last < target) {
    const now = Date.now();
    if (now - started > DRAIN_TIMEOUT_MS || now - moved > DRAIN_STALL_MS) break;
    await sleep(20);
    const next = await count();
    if (next !== last) moved = Date.now();
    last = next;
  }
  return { count: last, ms: Date.now() - started };
}

/**
 * A fresh directory for a bridge's DATA_DIR, readable by others like one made
 * by `mkdir` (mkdtemp's 0700 would keep out an embedded server running as
 * its own OS user); removed when the benchmark exits (an embedded database
 * in it is tens of MiB).
 */
export function freshDataDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  dataDirs.push(dir);
  return dir;
}
