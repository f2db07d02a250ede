import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchWorld } from './bench-world';
import { SignedBody, signedPullRequests } from './fixtures';
import type { ThreadRowWatcher } from './processing-lag';
import { drain, quantile } from './measure';

export const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 100);
export const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 5);
export const BURST = Number(process.env.BENCH_BURST ?? 2000);
const BURST_CONNECTIONS = 20;

export interface DeliveryPhase {
  phase: string;
  webhooks: number;
  /** Answered 2xx (not `duplicate`). */
  accepted: number;
  /** Not accepted: another status, or no answer. */
  errors: number;
  /** Webhooks per second the bridge accepted while they were being sent. */
  acceptedPerSecond: number;
  /** Accepted webhooks whose message reached the Flowdock simulator. */
  delivered: number;
  /** Accepted (202) to received by the Flowdock simulator, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Messages per second arriving at the simulator, first to last. */
  deliveredPerSecond: number;
  /** From the last 202 to the last message at the simulator, s; NaN unless all arrived. */
  drainSeconds: number;
}

/**
 * Sends distinct signed `pull_request.opened` webhooks (one new pull request,
 * so one new thread, each; bodies signed before sending) and times each from
 * the bridge's 2xx to the Flowdock simulator receiving its message.
 */
export class DeliveryBench {
  private readonly accepted = new Map<string, number>();
  private next = 1;
  readonly repository: string;
  private readonly failures: string[] = [];

  constructor(
    private readonly world: BenchWorld,
    runId: string,
  ) {
    this.repository = `bench-${runId}/delivery`;
  }

  /** What went wrong with the requests so far (the first few). */
  get errors(): string[] {
    return this.failures.slice(0, 5);
  }

  /**
   * One second at the steady rate, waited for but not measured: the first
   * webhooks after a start pay for code not yet compiled (as the ingest
   * section's warm-up does for its targets).
   */
  async warmUp(): Promise<void> {
    await this.atSteadyRate(STEADY_RATE);
  }

  /** `STEADY_RATE` webhooks per second, open loop; `watcher` also times each thread row. */
  async steady(watcher?: ThreadRowWatcher): Promise<DeliveryPhase> {
    return this.atSteadyRate(STEADY_RATE * STEADY_SECONDS, watcher);
  }

  private async atSteadyRate(count: number, watcher?: ThreadRowWatcher): Promise<DeliveryPhase> {
    const bodies = this.bodies(count);
    const sends: Promise<boolean>[] = [];
    const started = performance.now();
    for (let i = 0; i < bodies.length; i++) {
      await sleep(Math.max(0, started + (i * 1000) / STEADY_RATE - performance.now()));
      sends.push(
        this.send(bodies[i]).then((ok) => {
          if (ok) watcher?.accept(bodies[i].number, this.accepted.get(this.threadId(bodies[i]))!);
          return ok;
        }),
      );
    }
    const ok = await Promise.all(sends);
    return this.figures(`steady ${STEADY_RATE}/s`, bodies, ok, performance.now() - started);
  }

  /** `BURST` webhooks over 20 connections as fast as the bridge accepts them. */
  async burst(): Promise<DeliveryPhase> {
    const bodies = this.bodies(BURST);
    const ok: boolean[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: BURST_CONNECTIONS }, async () => {
        for (let i = next++; i < bodies.length; i = next++) ok[i] = await this.send(bodies[i]);
      }),
    );
    return this.figures(`burst of ${BURST}`, bodies, ok, performance.now() - started);
  }

  private bodies(count: number): SignedBody[] {
    const numbers = Array.from({ length: count }, () => this.next++);
    return signedPullRequests(numbers, this.world.env.GITHUB_WEBHOOK_SECRET, {
      repository: this.repository,
      title: (n) => `Bench ${n}`,
    });
  }

  private threadId(signed: SignedBody): string {
    return `github:${this.repository}:pull:${signed.number}`;
  }

  /** True when the bridge accepted the webhook (2xx, not `duplicate`). */
  private async send(signed: SignedBody): Promise<boolean> {
    try {
      const response = await fetch(`${this.world.url}/github/webhooks`, {
        method: 'POST',
        body: signed.body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'pull_request',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': signed.signature,
          'user-agent': 'GitHub-Hookshot/bench',
        },
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.ok && !text.includes('"duplicate"')) {
        this.accepted.set(this.threadId(signed), Date.now());
        return true;
      }
      this.failures.push(`#${signed.number}: ${response.status} ${text.slice(0, 200)}`);
    } catch (error) {
      this.failures.push(`#${signed.number}: ${(error as Error).message}`);
    }
    return false;
  }

  private async figures(
    phase: string,
    bodies: SignedBody[],
    ok: boolean[],
    sendMs: number,
  ): Promise<DeliveryPhase> {
    const wanted = new Set(bodies.filter((_, i) => ok[i]).map((b) => this.threadId(b)));
    const received = new Map<string, number>();
    const messages = this.world.flowdock.state.messages;
    let scanned = 0;
    await drain(() => {
      for (; scanned < messages.length; scanned++) {
        const id = messages[scanned].body.external_thread_id as string;
        if (wanted.has(id) && !received.has(id)) received.set(id, messages[scanned].receivedAt);
      }
      return received.size;
    }, wanted.size);
    const latencies = [...received].map(([id, at]) => at - this.accepted.get(id)!);
    const times = [...received.values()];
    const span = Math.max(...times) - Math.min(...times);
    const lastAccepted = Math.max(...[...wanted].map((id) => this.accepted.get(id)!));
    return {
      phase,
      webhooks: bodies.length,
      accepted: wanted.size,
      errors: bodies.length - wanted.size,
      acceptedPerSecond: Math.round((wanted.size / sendMs) * 1000),
      delivered: received.size,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: Math.max(...latencies),
      deliveredPerSecond: span > 0 ? Math.round(((times.length - 1) / span) * 1000) : NaN,
      // Unknown (null in the JSON) while any accepted webhook's message is missing.
      drainSeconds:
        received.size === wanted.size
          ? +((Math.max(...times) - lastAccepted) / 1000).toFixed(2)
          : NaN,
    };
  }
}
