import type { FlowdockState, SimFault } from '../sandbox/flowdock/flowdock-state';
import type { GitHubReposState } from '../sandbox/github/github-repos-state';
import { FlowTokenRateLimit } from '../sandbox/flowdock/flowdock-rate-limit';

export type FaultKind = '500' | 'timeout';

/** A uuid the simulator accepted again: when it had first, and how long after. */
export interface Repeat {
  uuid: string;
  thread: string;
  firstAt: string;
  againAfterMs: number;
}

const FAULTS: Record<FaultKind, (hangMs: number) => SimFault> = {
  '500': () => ({ status: 500 }),
  timeout: (hangMs) => ({ hangMs }),
};
export const FAULT_KINDS = Object.keys(FAULTS) as FaultKind[];

/**
 * The Flowdock simulator's side of the soak. Every 100 ms it takes the
 * messages the simulator accepted since the last look out of its state
 * (counted by `uuid`, so the simulator holds no growing list), and for each
 * one queues a fault with probability rate / (1 − rate), so that about `rate`
 * of all posts fail: one of `kinds` at random — a 500 or a request held
 * `hangMs` (longer than the bridge's FLOWDOCK_TIMEOUT_MS) — each the next
 * post to arrive, whichever thread it is for. With `postsPerSecond`, the
 * simulator also rate-limits the flow token as a real API would (429 with
 * Retry-After over that many posts a second), and counts the posts that did
 * not wait.
 */
export class FlowdockChaos {
  /** uuid -> how many times the simulator accepted a message with it. */
  readonly uuids = new Map<string, number>();
  /** Messages the simulator accepted. */
  accepted = 0;
  /** The first few uuids accepted again. */
  readonly repeats: Repeat[] = [];
  private readonly firstAt = new Map<string, number>();
  /** Random faults the simulator has answered with, by kind. */
  private readonly faulted: Record<FaultKind, number> = { '500': 0, timeout: 0 };
  private readonly limiter: FlowTokenRateLimit | undefined;
  private readonly queued: FaultKind[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly state: FlowdockState,
    private readonly rate: number,
    private readonly hangMs: number,
    private readonly kinds: FaultKind[] = FAULT_KINDS,
    postsPerSecond = 0,
  ) {
    if (postsPerSecond > 0) this.limiter = state.rateLimit = new FlowTokenRateLimit(postsPerSecond);
    this.timer = setInterval(() => this.tick(), 100);
  }

  /** Stops looking; takes what arrived since the last look. */
  stop(): void {
    clearInterval(this.timer);
    this.tick();
  }

  /** What the simulator answered instead of accepting a post, by kind (429: the rate limiter). */
  get applied(): Record<FaultKind | '429', number> {
    return { ...this.faulted, '429': this.limiter?.limited ?? 0 };
  }

  /** 429s that began a wait (the rest refused posts already on their way, or ignoring it). */
  get rateLimitWaits(): number {
    return this.limiter?.waits ?? 0;
  }

  /** Posts that arrived inside a wait more than 250 ms after it began (arrival times include delays of the bridge's own). */
  get postedDuringRetryAfter(): number {
    return this.limiter?.ignoredRetryAfter ?? 0;
  }

  /** Faults queued but not yet met by a post. */
  get pending(): number {
    return this.state.faults.length;
  }

  tick(): void {
    // Only this class queues faults, first in first out: those gone from the queue were applied.
    for (const kind of this.queued.splice(0, this.queued.length - this.state.faults.length)) {
      this.faulted[kind]++;
    }
    const fresh = this.state.messages.splice(0);
    for (const message of fresh) {
      const uuid = message.body.uuid;
      if (typeof uuid === 'string') this.count(uuid, message.body, message.receivedAt);
    }
    this.accepted += fresh.length;
    if (this.rate <= 0) return;
    const chance = this.rate / (1 - this.rate);
    for (let i = 0; i < fresh.length; i++) {
      if (Math.random() >= chance) continue;
      const kind = this.kinds[Math.floor(Math.random() * this.kinds.length)];
      this.state.faults.push(FAULTS[kind](this.hangMs));
      this.queued.push(kind);
    }
  }

  private count(uuid: string, body: Record<string, unknown>, receivedAt: number): void {
    const n = (this.uuids.get(uuid) ?? 0) + 1;
    this.uuids.set(uuid, n);
    if (n === 1) {
      this.firstAt.set(uuid, receivedAt);
    } else if (this.repeats.length < 20) {
      const first = this.firstAt.get(uuid)!;
      this.repeats.push({
        uuid,
        thread: String(body.external_thread_id),
        firstAt: new Date(first).toISOString(),
        againAfterMs: receivedAt - first,
      });
    }
  }
}

/**
 * A GitHub simulator that answers slowly now and then: each second, with
 * probability `chance`, every REST answer for the next 1–3 s is delayed by
 * 1 s to `maxDelayMs` (below the bridge's GITHUB_TIMEOUT_MS).
 */
export class GitHubSlowness {
  /** Slow spells so far. */
  spells = 0;
  private until = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly repos: GitHubReposState,
    private readonly chance: number,
    private readonly maxDelayMs: number,
  ) {
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.repos.delayMs = undefined;
  }

  private tick(): void {
    if (Date.now() < this.until) return;
    this.repos.delayMs = undefined;
    if (Math.random() >= this.chance) return;
    this.spells++;
    this.repos.delayMs = Math.round(1000 + Math.random() * (this.maxDelayMs - 1000));
    this.until = Date.now() + 1000 + Math.floor(Math.random() * 3) * 1000;
  }
}
