import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

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

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

/**
 * Node options for a bridge process: with BENCH_CPU_PROF=dir, a CPU profile
 * of it is written to dir/name when it stops (read with bench/profile-summary).
 */
export function profiling(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}/${name}`] : [];
}

/** The most memory the process has held so far. */
export const peakRssMiB = (pid: number) => Math.round(statusKiB(pid, 'VmHWM') / 1024);
/** The memory the process holds now. */
export const rssMiB = (pid: number) => Math.round(statusKiB(pid, 'VmRSS') / 1024);

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
