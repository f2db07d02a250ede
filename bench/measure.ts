import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A progress line on stderr, with the seconds since the benchmark started. */
export function progress(line: string): void {
  process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${line}\n`);
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
