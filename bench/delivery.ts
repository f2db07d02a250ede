import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { examplePayload } from '../sandbox/github/webhook-examples';
import type { BridgeWorld } from './bridge-world';
import { quantile, until } from './processes';

const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 50);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 5);
const BURST = Number(process.env.BENCH_BURST ?? 2000);
const BURST_CONNECTIONS = 20;
const DRAIN_TIMEOUT_MS = 120_000;

export interface DeliveryFigures {
  phase: string;
  webhooks: number;
  /** Webhooks per second the bridge accepted (202) while they were being sent. */
  acceptedPerSecond: number;
  /** Accepted (202) to received by the Flowdock simulator, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Messages per second arriving at the simulator, first to last. */
  deliveredPerSecond: number;
}

/**
 * Sends distinct signed `pull_request.opened` webhooks (one new thread each)
 * and times each from the bridge's 202 to the simulator receiving its message.
 */
export class DeliveryBench {
  private readonly accepted = new Map<string, number>();
  private next = 1;
  private readonly repository: string;

  constructor(
    private readonly world: BridgeWorld,
    runId: string,
  ) {
    this.repository = `bench-${runId}/delivery`;
  }

  async steady(): Promise<DeliveryFigures> {
    const count = STEADY_RATE * STEADY_SECONDS;
    const numbers: number[] = [];
    const started = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      await sleep(Math.max(0, started + (i * 1000) / STEADY_RATE - performance.now()));
      const n = this.next++;
      numbers.push(n);
      sends.push(this.send(n));
    }
    await Promise.all(sends);
    return this.figures('steady', numbers, performance.now() - started);
  }

  async burst(): Promise<DeliveryFigures> {
    const numbers = Array.from({ length: BURST }, () => this.next++);
    const queue = [...numbers];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: BURST_CONNECTIONS }, async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) await this.send(n);
      }),
    );
    return this.figures(`burst of ${BURST}`, numbers, performance.now() - started);
  }

  private threadId(n: number): string {
    return `github:${this.repository}:pull:${n}`;
  }

  private async send(n: number): Promise<void> {
    const payload = structuredClone(examplePayload('pull_request', 'opened')) as unknown as {
      number: number;
      pull_request: Record<string, unknown>;
      repository: Record<string, unknown> & { owner: Record<string, unknown> };
    };
    const [owner, name] = this.repository.split('/');
    payload.number = n;
    payload.pull_request = { ...payload.pull_request, number: n, title: `Bench ${n}` };
    payload.repository = {
      ...payload.repository,
      name,
      full_name: this.repository,
      owner: { ...payload.repository.owner, login: owner },
    };
    const body = JSON.stringify(payload);
    const signature = createHmac('sha256', this.world.env.GITHUB_WEBHOOK_SECRET)
      .update(body)
      .digest('hex');
    const response = await fetch(`${this.world.url}/github/webhooks`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${signature}`,
        'user-agent': 'GitHub-Hookshot/bench',
      },
    });
    const text = await response.text();
    if (response.status !== 202)
      throw new Error(`webhook ${n}: the bridge answered ${response.status}: ${text}`);
    this.accepted.set(this.threadId(n), Date.now());
  }

  private async figures(
    phase: string,
    numbers: number[],
    sendMs: number,
  ): Promise<DeliveryFigures> {
    const wanted = new Set(numbers.map((n) => this.threadId(n)));
    const received = new Map<string, number>();
    const messages = this.world.flowdock.state.messages;
    let scanned = 0;
    await until(
      `${wanted.size} messages at the Flowdock simulator (${phase})`,
      () => {
        for (; scanned < messages.length; scanned++) {
          const id = messages[scanned].body.external_thread_id as string;
          if (wanted.has(id) && !received.has(id)) received.set(id, messages[scanned].receivedAt);
        }
        return received.size === wanted.size;
      },
      DRAIN_TIMEOUT_MS,
    );
    const latencies = [...received].map(([id, at]) => at - this.accepted.get(id)!);
    const times = [...received.values()];
    const span = Math.max(...times) - Math.min(...times);
    return {
      phase,
      webhooks: numbers.length,
      acceptedPerSecond: Math.round((numbers.length / sendMs) * 1000),
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: Math.max(...latencies),
      deliveredPerSecond: span > 0 ? Math.round(((times.length - 1) / span) * 1000) : NaN,
    };
  }
}
