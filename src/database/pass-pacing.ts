import { Injectable } from '@nestjs/common';
import { EventLoopUtilization, performance } from 'node:perf_hooks';

/**
 * Under load, passes start at most this often: deliveries arriving meanwhile
 * share the next batch (a few statements however many), instead of each
 * pass taking a handful. The first delivery after a quiet spell goes at once.
 */
const PASS_INTERVAL_MS = 50;
/** During a storm, passes start at most this often: answering GitHub comes first. */
export const STORM_PASS_INTERVAL_MS = 500;
/** Webhook requests waiting for the inbox's commit at or above which a storm is on… */
const STORM_AT = 8;
/**
 * …if the event loop is busy at least this share of the time as well. Requests
 * also queue behind a slow commit (the database's disk busy with something
 * else), and holding back would then only delay delivery: the CPU is not what
 * they wait for.
 */
const BUSY_AT = 0.8;
/** The shortest span over which how busy the event loop is gets measured. */
const BUSY_WINDOW_MS = 100;
/** How long background work holds back for one storm: any longer and a lasting load could leave it behind for good. */
const MAX_HOLD_BACK_MS = 10_000;
/** Requests queuing again within this long are the same storm. */
const STORM_GAP_MS = 1_000;

/**
 * How often background work starts a pass. GitHub gives up on a delivery after
 * 10 s and does not send it again on its own, so while webhook requests
 * queue up for the inbox, the work that shares the CPU with them (processing,
 * delivery to Flowdock) holds back and catches up once the storm is over —
 * for at most MAX_HOLD_BACK_MS of one storm, after which it runs at full pace
 * again.
 */
export class PassPacing {
  private stormStarted = -Infinity;
  private lastStormy = -Infinity;

  /**
   * Milliseconds from one pass's start to the next's, with `waiting` requests
   * at `now` (ms) and the event loop busy `busy` of the recent time (0–1).
   */
  interval(waiting: number, busy: number, now: number): number {
    if (waiting < STORM_AT || busy < BUSY_AT) return PASS_INTERVAL_MS;
    if (now - this.lastStormy > STORM_GAP_MS) this.stormStarted = now;
    this.lastStormy = now;
    return now - this.stormStarted < MAX_HOLD_BACK_MS ? STORM_PASS_INTERVAL_MS : PASS_INTERVAL_MS;
  }
}

/**
 * The process's one storm clock: the webhook inbox tells how many requests
 * wait for its commit, the event loop how busy it is, and the workers that
 * share the CPU with them ask how often to start their work (the processor)
 * or whether to hold back now (the delivery worker).
 */
@Injectable()
export class StormWatch {
  private readonly pacing = new PassPacing();
  private waiting: () => number = () => 0;
  private mark: EventLoopUtilization = performance.eventLoopUtilization();
  private busy = 0;

  /** The inbox's count of webhook requests waiting for its commit. */
  watch(waiting: () => number): void {
    this.waiting = waiting;
  }

  /** Milliseconds from one pass's start to the next's, now. */
  interval(now = performance.now()): number {
    return this.pacing.interval(this.waiting(), this.recentlyBusy(), now);
  }

  /** The event loop's utilization since the mark, once BUSY_WINDOW_MS or more have passed. */
  private recentlyBusy(): number {
    const current = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(current, this.mark);
    if (since.idle + since.active >= BUSY_WINDOW_MS) {
      this.busy = since.utilization;
      this.mark = current;
    }
    return this.busy;
  }

  /** Whether a storm holds background work back now. */
  holdingBack(now = performance.now()): boolean {
    return this.interval(now) === STORM_PASS_INTERVAL_MS;
  }
}
