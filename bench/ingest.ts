import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerMemory, ServerMemorySampler, stopLeftoverServer } from './embedded-server';
import type { LoadJob, LoadResult } from './load';
import { freePort, stop } from '../sandbox/world/processes';
import { startScript, waitReady } from './bench-setup';
import { drain, peakRssMiB, progress } from './measure';

const BENCH = join(__dirname, '..', '..', 'dist-bench', 'bench');
export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
export const PULL_REQUESTS = Number(process.env.BENCH_PULL_REQUESTS ?? 5000);
/** After the sink has its count, how long extra (duplicate) messages get to show up. */
const SETTLE_MS = 500;

export type Workload = 'one PR' | 'many PRs';

/** The example's own pull request (#2) for `one PR`; `many PRs` are numbered from here, apart from it. */
const MANY_FIRST_NUMBER = 10_001;

export interface IngestRow extends LoadResult {
  target: string;
  workload: Workload;
  /** The target process's peak RSS (VmHWM) over both workloads, MiB. */
  peakRssMiB: number;
  startupMs: number;
}

/** Messages a bridge's accepted webhooks produced at the sink (one each is expected). */
export interface MessageAccount {
  /** Webhooks the bridge accepted: warm-up and both workloads. */
  accepted: number;
  /** Messages that reached the sink for them. */
  delivered: number;
  /** Requests in flight when a load run stopped; each was sent again to learn its outcome. */
  unanswered: number;
  /** Of those, the bridge had already accepted (`duplicate` the second time). */
  unansweredAlreadyAccepted: number;
  /** From the end of each load run (warm-up, one PR, many PRs) to the sink having every message, s. */
  drainSecondsWarmup: number;
  drainSecondsOnePR: number;
  drainSecondsManyPR: number;
}

export interface TargetOutcome {
  rows: IngestRow[];
  /** The warm-up run (one PR), for the record: its errors also count in the first row's. */
  warmup?: LoadResult;
  messages?: MessageAccount;
  /** Embedded database: the PostgreSQL server's processes, peak over the run. */
  postgres?: ServerMemory;
  failures: string[];
}

export interface Target {
  target: string;
  script: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  /** A bridge: count its messages at this sink and resolve unanswered requests. */
  sinkUrl?: string;
  /** Its DATA_DIR, when it starts an embedded database there. */
  dataDir?: string;
}

/** One run of the load generator (its own process), bounded in time. */
function load(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(BENCH, 'load.js'), JSON.stringify(job)],
      {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        timeout: (job.durationSeconds + 120) * 1000,
      },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`load generator: ${error.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
      },
    );
  });
}

/** Messages the sink has received; a failed request (a kept-alive socket it closed) is asked again. */
async function sinkCount(sinkUrl: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return Number(await (await fetch(`${sinkUrl}/count`)).text());
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(50);
    }
  }
}

/**
 * Starts the target, warms it up on one pull request, then loads it on one
 * pull request and on PULL_REQUESTS different ones. For a bridge, after each
 * run: waits until the sink has one message per accepted webhook (and no
 * more), so that every run starts with nothing left to deliver.
 */
export async function measureTarget(target: Target): Promise<TargetOutcome> {
  progress(`ingest: ${target.target}`);
  const failures: string[] = [];
  const rows: Omit<IngestRow, 'peakRssMiB' | 'startupMs'>[] = [];
  const port = await freePort();
  const bridge = startScript(target.script, { ...target.env, PORT: String(port) }, target.nodeArgs);
  const { child } = bridge;
  const sampler = target.dataDir ? new ServerMemorySampler(target.dataDir) : undefined;
  const url = `http://127.0.0.1:${port}/github/webhooks`;
  const sink = target.sinkUrl;
  const messages: MessageAccount = {
    accepted: 0,
    delivered: 0,
    unanswered: 0,
    unansweredAlreadyAccepted: 0,
    drainSecondsWarmup: 0,
    drainSecondsOnePR: 0,
    drainSecondsManyPR: 0,
  };
  const sinkBefore = sink ? await sinkCount(sink) : 0;
  let gap = 0;

  const run = async (phase: 'warm-up' | Workload, durationSeconds: number) => {
    const result = await load({
      url,
      connections: CONNECTIONS,
      durationSeconds,
      ...(phase === 'many PRs'
        ? { pullRequests: PULL_REQUESTS, firstNumber: MANY_FIRST_NUMBER }
        : {}),
      resolveUnanswered: sink !== undefined,
    });
    if (sink) {
      messages.accepted += result.accepted;
      messages.unanswered += result.unanswered;
      messages.unansweredAlreadyAccepted += result.resolved.alreadyAccepted;
      progress(`  ${phase}: waiting for ${messages.accepted} messages at the sink`);
      const expected = sinkBefore + messages.accepted;
      const drained = await drain(() => sinkCount(sink), expected);
      const drainKey = ({ 'warm-up': 'Warmup', 'one PR': 'OnePR', 'many PRs': 'ManyPR' } as const)[
        phase
      ];
      messages[`drainSeconds${drainKey}`] = +(drained.ms / 1000).toFixed(2);
      await sleep(SETTLE_MS);
      messages.delivered = (await sinkCount(sink)) - sinkBefore;
      // Counts are cumulative: a gap is reported when it appears or changes, not again after every run.
      if (messages.delivered - messages.accepted !== gap)
        failures.push(
          `${target.target}, after ${phase}: ${messages.accepted} webhooks accepted, ` +
            `${messages.delivered} messages at the sink`,
        );
      gap = messages.delivered - messages.accepted;
    }
    return result;
  };

  let startupMs = NaN;
  let warm: LoadResult | undefined;
  try {
    startupMs = Math.round(await waitReady(`http://127.0.0.1:${port}/health/ready`, bridge));
    warm = WARMUP > 0 ? await run('warm-up', WARMUP) : undefined;
    if (warm && warm.errors > 0)
      failures.push(
        `${target.target}, warm-up: ${warm.errors} errors, status codes ${JSON.stringify(warm.statusCodes)}, ` +
          `${warm.timeouts} timeouts, ${warm.socketErrors} socket errors, ` +
          `${warm.resolved.failed} unanswered requests failed again`,
      );
    for (const workload of ['one PR', 'many PRs'] as const) {
      const result = await run(workload, DURATION);
      rows.push({ target: target.target, workload, ...result });
    }
  } catch (error) {
    failures.push(`${target.target}: ${(error as Error).message}`);
  }
  if (child.exitCode !== null || child.signalCode !== null)
    failures.push(`${target.target}: the process exited (${child.exitCode ?? child.signalCode})`);
  const peak = peakRssMiB(child.pid!);
  const postgres = sampler?.stop();
  await stop(bridge);
  if (target.dataDir) {
    const leftover = await stopLeftoverServer(target.dataDir);
    if (leftover)
      failures.push(`${target.target}: its PostgreSQL server (pid ${leftover}) outlived it`);
  }
  for (const row of rows)
    if (row.errors > 0 || row.responses === 0)
      failures.push(
        `${target.target}, ${row.workload}: ${row.errors} errors in ${row.responses} responses, ` +
          `status codes ${JSON.stringify(row.statusCodes)}, ${row.timeouts} timeouts, ` +
          `${row.socketErrors} socket errors, ${row.resolved.failed} unanswered requests failed again`,
      );
  return {
    rows: rows.map((row) => ({ ...row, peakRssMiB: peak, startupMs })),
    warmup: warm,
    messages: sink ? messages : undefined,
    postgres,
    failures,
  };
}
