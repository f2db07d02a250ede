import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestStats } from './soak-load';
import type { Spawned } from '../sandbox/world/processes';

/**
 * The bridge does not expose its event-loop lag: this asks `GET /health/live`
 * (no database, no work: Nest's router and an empty Terminus check) every
 * `everyMs`, one request at a time. Its latency is the time the request waited
 * for the bridge's event loop plus a constant few milliseconds of HTTP, so
 * its p50/max per window stand in for the loop's lag.
 */
export class LivenessProbe {
  readonly stats = new RequestStats();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly everyMs = 250,
  ) {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = performance.now();
      this.stats.sent++;
      try {
        const response = await fetch(`${this.url}/health/live`, {
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        this.stats.answered(
          response.status,
          performance.now() - started,
          response.ok ? undefined : text.slice(0, 200),
        );
      } catch (error) {
        this.stats.failed(error);
      }
      await sleep(Math.max(0, this.everyMs - (performance.now() - started)));
    }
  }
}

/** CPU time (user + system) the process has used so far, s; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

export interface LogSummary {
  warnings: number;
  errors: number;
  /** The most frequent warning and error messages (ids and numbers folded), with their counts. */
  top: { level: string; message: string; count: number }[];
}

const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

/** The bridge's warnings and errors (its pino JSON lines on stdout/stderr). */
export function summarizeLog(bridge: Spawned): LogSummary {
  const counts = new Map<string, { level: string; message: string; count: number }>();
  let warnings = 0;
  let errors = 0;
  for (const line of bridge.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { level?: number; msg?: string };
    try {
      entry = JSON.parse(line) as { level?: number; msg?: string };
    } catch {
      continue;
    }
    const level = LEVELS[entry.level ?? 0];
    if (!level) continue;
    if (level === 'warn') warnings++;
    else errors++;
    const message = String(entry.msg ?? '')
      .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<uuid>')
      .replace(/\d+/g, 'N')
      .slice(0, 200);
    const key = `${level} ${message}`;
    const known = counts.get(key) ?? { level, message, count: 0 };
    known.count++;
    counts.set(key, known);
  }
  const top = [...counts.values()].sort((a, b) => b.count - a.count).slice(0, 10);
  return { warnings, errors, top };
}
