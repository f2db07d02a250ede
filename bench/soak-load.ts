import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { ItemAction, sendAction } from './actions';
import type { BenchWorld } from './bench-world';
import { quantile } from './measure';
import type { SoakWebhooks } from './soak-webhooks';

/** A request without an answer after this long counts as unanswered. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Answers to one kind of request: statuses, failures, and the latencies of the current window. */
export class RequestStats {
  sent = 0;
  readonly statuses: Record<string, number> = {};
  /** No answer: a network error or REQUEST_TIMEOUT_MS without one. */
  unanswered = 0;
  /** The first few unexpected answers and errors. */
  readonly problems: string[] = [];
  private window: number[] = [];

  get serverErrors(): number {
    return Object.entries(this.statuses)
      .filter(([status]) => Number(status) >= 500)
      .reduce((sum, [, n]) => sum + n, 0);
  }

  answered(status: number, ms: number, problem?: string): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.window.push(ms);
    if (problem) this.note(`${status}: ${problem}`);
  }

  failed(error: unknown): void {
    this.unanswered++;
    this.note((error as Error).message);
  }

  /** Latencies since the last call (ms; null without any), and how many. */
  takeWindow(): {
    count: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
  } {
    const window = this.window;
    this.window = [];
    if (window.length === 0) return { count: 0, p50Ms: null, p99Ms: null, maxMs: null };
    return {
      count: window.length,
      p50Ms: Math.round(quantile(window, 0.5)),
      p99Ms: Math.round(quantile(window, 0.99)),
      maxMs: Math.round(Math.max(...window)),
    };
  }

  private note(problem: string): void {
    if (this.problems.length < 10) this.problems.push(problem.slice(0, 300));
  }
}

/**
 * An open-loop load: `perSecond` calls of `send` a second, on a 10 ms tick,
 * whatever the answers take; at most `maxInFlight` at once (beyond that a
 * call is skipped and counted: the bridge is not keeping up). When this
 * process itself falls more than a second behind (starved of CPU), the calls
 * missed are counted as `late` and not sent in a burst: a burst would stall
 * the simulators that share this process.
 */
abstract class OpenLoop {
  skipped = 0;
  late = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly maxInFlight: number,
  ) {}

  protected abstract send(): Promise<void>;

  start(): void {
    this.loop = this.run();
  }

  /** Stops sending and waits for the answers still due (bounded by REQUEST_TIMEOUT_MS). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(): Promise<void> {
    const started = performance.now();
    let sent = 0;
    while (!this.stopped) {
      const due = Math.floor(((performance.now() - started) / 1000) * this.perSecond);
      if (due - sent > this.perSecond) {
        this.late += due - sent - this.perSecond;
        sent = due - this.perSecond;
      }
      for (; sent < due; sent++) {
        if (this.inFlight.size >= this.maxInFlight) {
          this.skipped++;
          continue;
        }
        const request = this.send().finally(() => this.inFlight.delete(request));
        this.inFlight.add(request);
      }
      await sleep(10);
    }
  }
}

/** Signed webhooks at a steady rate; which ones the bridge accepted (by delivery id). */
export class WebhookLoad extends OpenLoop {
  readonly stats = new RequestStats();
  /** Delivery ids answered 202 `accepted`. */
  readonly accepted: string[] = [];
  /** Answered `duplicate`: never expected, every delivery id is new. */
  duplicates = 0;
  /** undici's request(): a fraction of fetch()'s cost, which this process shares with the simulators. */
  private readonly agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });

  constructor(
    private readonly url: string,
    private readonly webhooks: SoakWebhooks,
    perSecond: number,
  ) {
    super(perSecond, 2_000);
  }

  protected async send(): Promise<void> {
    const webhook = this.webhooks.next();
    this.stats.sent++;
    const started = performance.now();
    try {
      const response = await this.agent.request({
        origin: this.url,
        path: '/github/webhooks',
        method: 'POST',
        body: webhook.body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': webhook.event,
          'x-github-delivery': webhook.deliveryId,
          'x-hub-signature-256': webhook.signature,
          'user-agent': 'GitHub-Hookshot/soak',
        },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.body.text();
      const status = response.statusCode;
      const accepted = status === 202 && text.includes('"accepted"');
      if (accepted) this.accepted.push(webhook.deliveryId);
      if (status < 300 && text.includes('"duplicate"')) this.duplicates++;
      this.stats.answered(
        status,
        performance.now() - started,
        accepted ? undefined : `${webhook.event}.${webhook.action}: ${text.slice(0, 200)}`,
      );
    } catch (error) {
      this.stats.failed(error);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * Signed UpdateAction requests at a steady rate: the world's pull requests in
 * turn (each one's clicks far enough apart never to overlap), each always
 * clicked by the same linked user, assign-to-me and unassign-me alternately.
 */
export class ActionLoad extends OpenLoop {
  readonly stats = new RequestStats();
  /** Actions that changed the assignees the bridge showed: each should announce one message. */
  changed = 0;
  private clicks = 0;
  private readonly assigned = new Map<number, boolean>();
  private readonly logins: string[];

  constructor(
    private readonly world: BenchWorld,
    perSecond: number,
    private readonly items = 200,
  ) {
    super(perSecond, 200);
    // The GitHub users the world's Flowdock users are linked to, in the same order.
    this.logins = [...world.github.state.users.values()].map((u) => u.login);
  }

  protected async send(): Promise<void> {
    const click = this.clicks++;
    const number = (click % this.items) + 1;
    const user = (number - 1) % this.world.users.length;
    const action: ItemAction =
      Math.floor(click / this.items) % 2 === 0 ? 'assign-to-me' : 'unassign-me';
    this.stats.sent++;
    const started = performance.now();
    try {
      const answer = await sendAction(
        this.world,
        user,
        number,
        action,
        `soak ${click}`,
        AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      );
      const ms = performance.now() - started;
      if (answer.status !== 200) {
        this.stats.answered(answer.status, ms, `${answer.path}: ${answer.text.slice(0, 200)}`);
        return;
      }
      this.stats.answered(200, ms);
      const { assignees } = JSON.parse(answer.text) as { assignees: string[] };
      const now = assignees.includes(this.logins[user]);
      if (now !== (this.assigned.get(number) ?? false)) this.changed++;
      this.assigned.set(number, now);
    } catch (error) {
      this.stats.failed(error);
    }
  }
}
