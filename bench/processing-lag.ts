import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { quantile } from './measure';

export interface ProcessingFigures {
  webhooks: number;
  /** Thread rows seen written. */
  rows: number;
  /** Thread row's `updated_at` minus the time the bench got the 202, ms (negative: written before the answer). */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** When the bench's poll first saw the committed row, minus the 202, ms (includes up to one poll interval). */
  visibleP50Ms: number;
  visibleP99Ms: number;
}

const POLL_MS = 20;

/**
 * Watches `github_thread` (primary key repository, kind, number) for the rows
 * of pull requests the bench sent, read-only, and times each from the 202 to
 * the row's write time (`updated_at`, written with this machine's clock).
 */
export class ThreadRowWatcher {
  private readonly accepted = new Map<number, number>();
  private readonly written = new Map<number, { at: number; seen: number }>();
  private polling: Promise<void> | undefined;
  private stopped = false;
  /** Why polling stopped early (the connection failed), if it did. */
  error: string | undefined;

  constructor(
    private readonly client: Client,
    private readonly repository: string,
  ) {}

  /** Webhook for pull request `number` answered 2xx at `at` (epoch ms). */
  accept(number: number, at: number): void {
    this.accepted.set(number, at);
    this.polling ??= this.poll();
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      const pending = [...this.accepted.keys()].filter((n) => !this.written.has(n));
      if (pending.length > 0) {
        try {
          const { rows } = await this.client.query<{ number: number; at: number }>(
            `SELECT number, extract(epoch FROM updated_at) * 1000 AS at FROM github_thread
             WHERE repository = $1 AND kind = 'pull' AND number = ANY($2::int[])`,
            [this.repository, pending],
          );
          const seen = Date.now();
          for (const row of rows) this.written.set(row.number, { at: Number(row.at), seen });
        } catch (error) {
          this.error = `reading github_thread: ${(error as Error).message}`;
          return;
        }
      }
      await sleep(POLL_MS);
    }
  }

  /** Waits (at most `timeoutMs`) for every accepted pull request's row, then stops polling. */
  async finish(timeoutMs: number): Promise<ProcessingFigures> {
    const deadline = Date.now() + timeoutMs;
    while (this.written.size < this.accepted.size && !this.error && Date.now() < deadline)
      await sleep(POLL_MS);
    this.stopped = true;
    await this.polling;
    const lag: number[] = [];
    const visible: number[] = [];
    for (const [n, row] of this.written) {
      lag.push(row.at - this.accepted.get(n)!);
      visible.push(row.seen - this.accepted.get(n)!);
    }
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      webhooks: this.accepted.size,
      rows: this.written.size,
      lagP50Ms: round(quantile(lag, 0.5)),
      lagP99Ms: round(quantile(lag, 0.99)),
      lagMaxMs: round(Math.max(...lag)),
      visibleP50Ms: round(quantile(visible, 0.5)),
      visibleP99Ms: round(quantile(visible, 0.99)),
    };
  }
}
