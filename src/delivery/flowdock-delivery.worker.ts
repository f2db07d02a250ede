import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { DatabaseNotifications } from '../database/database-notifications';
import { GroupCommit } from '../database/group-commit';
import { STORM_PASS_INTERVAL_MS, StormWatch } from '../database/pass-pacing';
import { Metrics, SendClass } from '../metrics/metrics';
import { retryDelayMs } from './delivery-backoff';
import { FlowdockClient } from '../flowdock/flowdock-client';
import {
  FlowdockGoneError,
  FlowdockRateLimitedError,
  FlowdockRefusedError,
  FlowdockUnavailableError,
} from '../flowdock/flowdock-errors';
import { FlowdockOutbox, OutboxMessage, SentMark, ThreadBatch } from './flowdock-outbox';
import { FlowdockSourceService } from '../flowdock/flowdock-source.service';
import { FlowdockThread } from '../flowdock/flowdock-api.types';
import { renderMessage, renderThread } from '../threads/thread-rendering';

/**
 * Threads one worker delivers at the same time. A send that hangs holds its
 * thread until FLOWDOCK_TIMEOUT_MS: the places are many enough that a few
 * hanging sends a second do not starve the others (the soak's 1.7 % timeouts
 * at 200 messages/s hold ~34 places).
 */
const CONCURRENT_THREADS = 64;
/** How often threads whose pending messages were edited by hand are found (see FlowdockOutbox.repairDue). */
const REPAIR_EVERY_MS = 60_000;
/** How often sent messages older than DELIVERY_RETENTION_DAYS are removed. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** While threads are in progress, the shortest time between two leases. */
const FILL_INTERVAL_MS = 25;
/** Messages delivered for one thread before its lease is given back to the pool. */
const MESSAGES_PER_LEASE = 200;
/** Messages of a thread read (and marked sent) at once; each is rendered from the snapshot of its read. */
const MESSAGES_PER_READ = 25;
/**
 * During a webhook storm (StormWatch), threads leased at a time, each for one
 * read: delivery holds back, as processing does, and catches up after.
 */
const STORM_THREADS = 4;
/** Decrypted flow tokens kept; a source's token never changes (another token is another source). */
const FLOW_TOKENS_KEPT = 1_000;

/**
 * After an attempt: posted (the next may follow; marked sent with the others
 * of its read), settled otherwise so the next may follow, or the thread waits.
 */
type Outcome = 'posted' | 'next' | 'stop';

/** The class of Flowdock's answer to a send that failed; undefined when nothing was sent. */
function answerClass(error: unknown): SendClass | undefined {
  if (error instanceof FlowdockRefusedError) return '4xx';
  if (!(error instanceof FlowdockUnavailableError)) return undefined;
  const status = error.status;
  if (status === undefined) return 'network';
  return status < 300 ? '2xx' : status < 500 ? '4xx' : '5xx';
}

/**
 * Posts the outbox to Flowdock, at least once, in order per thread. It leases
 * due threads (FOR UPDATE SKIP LOCKED + a lease in the row, so several bridge
 * processes share the work and never deliver one thread at the same time),
 * up to CONCURRENT_THREADS at once, and for each thread sends its pending
 * messages oldest first, rendered from the thread's newest snapshot; a thread
 * done frees its place for the next due one at once. It is woken when a
 * message is enqueued (by this process, or by NOTIFY from another); the poll
 * every FLOWDOCK_DELIVERY_POLL_MS is a safety net (and finds retries that came due).
 *
 * Failures: 429 and transient ones wait (Retry-After, else exponential
 * backoff) and block the thread's later messages to keep order; a 429's
 * Retry-After pauses every thread of that source; after FLOWDOCK_MAX_ATTEMPTS
 * they are dead-lettered. Other 4xx dead-letter the message with Flowdock's
 * reason. 410 disables the source and dead-letters its pending messages. A
 * process that dies mid-send leaves a lease that expires; the message is then
 * resent with the same uuid.
 */
@Injectable()
export class FlowdockDeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('FlowdockDelivery');
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly delivery: AppConfig['flowdock']['delivery'];
  private readonly publicUrl: string;
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Thread deliveries and passes in progress. */
  private readonly running = new Set<Promise<unknown>>();
  /** Threads this worker is delivering now. */
  private delivering = 0;
  private leasing = false;
  /** Threads' marks (sent messages, lease renewed or given back) share statements under load. */
  private readonly marks = new GroupCommit<SentMark, boolean>(
    (marks) => this.outbox.markSent(marks),
    { maxBatch: CONCURRENT_THREADS, maxInFlight: 1 },
  );
  private lastFill = 0;
  private lastRepair = 0;
  private lastPrune = 0;
  private readonly retentionDays: number;
  private fillTimer: NodeJS.Timeout | undefined;
  private wanted = false;
  private stopped = false;
  /** Counts notifications: a thread whose delivery saw one arrive looks for more work when it is done. */
  private notified = 0;
  /**
   * When this worker last saw each source answer 429. A read of a thread's
   * messages carries the source's pause as it was when read; a read begun
   * before such a 429 stops at it too, rather than post through the pause.
   */
  private readonly rateLimitedAt = new Map<string, number>();
  /** Flow tokens by source id, decrypted once per process rather than once per lease. */
  private readonly flowTokens = new Map<string, Promise<string>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: FlowdockOutbox,
    private readonly client: FlowdockClient,
    private readonly sources: FlowdockSourceService,
    private readonly notifications: DatabaseNotifications,
    private readonly metrics: Metrics,
    private readonly storm: StormWatch,
    config: ConfigService<AppConfig, true>,
  ) {
    const flowdock = config.get('flowdock', { infer: true });
    this.delivery = flowdock.delivery;
    this.publicUrl = config.get('publicUrl', { infer: true });
    this.retentionDays = config.get('github', { infer: true }).deliveryRetentionDays;
    // Long enough for a send that times out, short enough that a crashed
    // process's threads are picked up again soon.
    this.leaseMs = Math.max(5_000, flowdock.timeoutMs * 3);
  }

  onApplicationBootstrap(): void {
    if (this.delivery.pollIntervalMs <= 0) return;
    this.notifications.on('flowdock_outbox', () => {
      this.notified++;
      this.wake();
    });
    this.wake();
  }

  /** Stops leasing and waits for the deliveries in progress, so no send is cut off by the pool closing. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.fillTimer);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * One delivery pass over the due threads (of the given sources only, when
   * named: tests sharing a database use that); returns how many messages it settled.
   */
  runOnce(options: { sourceIds?: string[] } = {}): Promise<number> {
    return this.track(
      (async () => {
        const leased = await this.outbox.leaseThreads(
          this.workerId,
          this.leaseMs,
          CONCURRENT_THREADS,
          MESSAGES_PER_READ,
          options.sourceIds,
        );
        const delivered = await Promise.all(leased.map((l) => this.deliverThread(l)));
        return delivered.reduce((sum, d) => sum + d.settled, 0);
      })(),
    );
  }

  /**
   * Leases due threads into the free places (again if woken meanwhile). While
   * threads are being delivered, leases are at most FILL_INTERVAL_MS apart, so
   * places freed meanwhile are filled by one lease, not one each.
   */
  private wake(): void {
    this.wanted = true;
    if (this.leasing || this.fillTimer || this.stopped) return;
    // During a storm, a lease at most every storm interval, whether or not threads are in progress.
    const storm = this.storm.holdingBack();
    const wait =
      this.lastFill + (storm ? STORM_PASS_INTERVAL_MS : FILL_INTERVAL_MS) - performance.now();
    if ((this.delivering > 0 || storm) && wait > 0) {
      this.fillTimer = setTimeout(() => {
        this.fillTimer = undefined;
        this.wake();
      }, wait);
      return;
    }
    this.leasing = true;
    this.lastFill = performance.now();
    void this.fill().finally(() => {
      this.leasing = false;
      if (this.wanted && this.delivering < CONCURRENT_THREADS) this.wake();
    });
  }

  private async fill(): Promise<void> {
    let pollMs = this.delivery.pollIntervalMs;
    try {
      if (Date.now() - this.lastRepair > REPAIR_EVERY_MS) {
        this.lastRepair = Date.now();
        const repaired = await this.outbox.repairDue();
        if (repaired > 0) this.logger.log(`${repaired} thread(s) with due messages made due again`);
      }
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        const pruned = await this.outbox.pruneSent(this.retentionDays);
        if (pruned > 0) {
          this.logger.log(
            `Pruned ${pruned} Flowdock messages sent more than ${this.retentionDays} days ago`,
          );
        }
      }
      while (!this.stopped && this.wanted && this.delivering < CONCURRENT_THREADS) {
        this.wanted = false;
        const storm = this.storm.holdingBack();
        const places = storm
          ? Math.max(0, STORM_THREADS - this.delivering)
          : CONCURRENT_THREADS - this.delivering;
        if (places === 0) {
          this.wanted = true;
          break;
        }
        const leased = await this.outbox.leaseThreads(
          this.workerId,
          this.leaseMs,
          places,
          MESSAGES_PER_READ,
        );
        for (const thread of leased) {
          this.delivering++;
          const notifiedBefore = this.notified;
          void this.track(this.deliverThread(thread))
            .then(
              (delivered) => delivered.unfinished,
              () => true,
            )
            .then((unfinished) => {
              this.delivering--;
              // Look for more only when there may be some: the thread's lease ended before
              // its backlog did (or failed), a notification came meanwhile (its lease could
              // not take this thread), or a lease took every place (more due than places).
              if (unfinished || this.notified !== notifiedBefore || this.wanted) this.wake();
            });
        }
        // A full lease may leave more due threads behind.
        if (leased.length === places) this.wanted = true;
        if (storm) break;
      }
    } catch (error) {
      this.logger.error(`Leasing threads to deliver failed: ${(error as Error).message}`);
      pollMs = Math.min(pollMs, 1_000);
    }
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.wake(), pollMs);
      this.timer.unref();
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    void work.finally(() => this.running.delete(work)).catch(() => undefined);
    return work;
  }

  /**
   * Delivers a leased thread, starting from the read its lease came with; gives the lease back.
   * `unfinished`: it stopped with messages left (a full lease, or a storm), to be leased again.
   */
  private async deliverThread(
    first: ThreadBatch,
  ): Promise<{ settled: number; unfinished: boolean }> {
    const { threadId } = first;
    let settled = 0;
    let heldBack = false;
    const result = () => ({ settled, unfinished: settled >= MESSAGES_PER_LEASE || heldBack });
    // Posted to Flowdock, not yet marked sent: marked a read at a time, with the lease renewed.
    const posted: string[] = [];
    let renewedAt = Date.now();
    let released = false;
    let read = first;
    let readAt = performance.now();
    // Until a post's answer tells Flowdock's id of the thread, posts ask for it (where replies are heard).
    let threadIdMissing = true;
    const markPosted = (release = false) => {
      renewedAt = Date.now();
      released = release;
      return this.marks.add({
        threadId,
        owner: this.workerId,
        messageIds: posted.splice(0),
        lease: release ? { release: { version: read.version } } : { renewMs: this.leaseMs },
      });
    };
    try {
      reading: for (;;) {
        const batch = read.messages;
        // The thread's state as every message of this read shows it, rendered once.
        const thread =
          batch.length > 0 ? renderThread(batch[0].snapshot, this.publicUrl) : undefined;
        for (const next of batch) {
          const limitedSinceRead = (this.rateLimitedAt.get(next.sourceId) ?? -1) >= readAt;
          if (!next.due || next.paused || limitedSinceRead || this.stopped) break reading;
          const outcome = await this.deliver(next, thread!, threadIdMissing && next.threadIdWanted);
          if (next.flowdockThreadId !== null) threadIdMissing = false;
          settled++;
          if (outcome === 'posted') posted.push(next.id);
          if (outcome === 'stop') break reading;
          // A slow Flowdock must not let the lease run out under a thread in progress.
          if (Date.now() - renewedAt > this.leaseMs / 3 && !(await markPosted())) return result();
        }
        // A short read was the whole backlog: mark it and give the lease back in one go
        // (messages enqueued from now on wake the worker, which leases the thread again).
        heldBack = batch.length === MESSAGES_PER_READ && this.storm.holdingBack();
        const last =
          batch.length < MESSAGES_PER_READ ||
          settled >= MESSAGES_PER_LEASE ||
          this.stopped ||
          heldBack;
        if (!(await markPosted(last)) || last) return result();
        readAt = performance.now();
        read = await this.outbox.nextMessages(threadId, MESSAGES_PER_READ);
      }
    } catch (error) {
      this.logger.error(`Delivering thread ${threadId} failed: ${(error as Error).message}`);
    } finally {
      if (!released) await markPosted(true).catch(() => undefined);
    }
    return result();
  }

  /** Sends one message: 'posted' (to be marked sent), 'next' (settled otherwise), or 'stop' the thread. */
  private async deliver(
    next: OutboxMessage,
    thread: FlowdockThread,
    waitForThreadId: boolean,
  ): Promise<Outcome> {
    if (next.disabled) {
      await this.outbox.markDead(
        next.id,
        `The source is disabled: ${next.disabledReason ?? 'disabled'}`,
      );
      this.metrics.flowdockDeadLettered('source_disabled');
      return 'next';
    }
    let answer: { threadId?: string };
    try {
      // Waiting for the stored message is slower; its answer carries the thread id.
      answer = await this.client.postMessage(
        await this.flowToken(next.sourceId),
        renderMessage(next.event, next.snapshot, next.uuid, this.publicUrl, thread),
        { waitForMessage: waitForThreadId },
      );
    } catch (error) {
      const answer = answerClass(error);
      if (answer) this.metrics.flowdockSent(answer);
      return (await this.handleFailure(next, error)) ? 'next' : 'stop';
    }
    this.metrics.flowdockSent('2xx');
    if (answer.threadId && answer.threadId !== next.flowdockThreadId) {
      next.flowdockThreadId = answer.threadId;
      // Posted: a failure to note the id must not send the message again (a later post tells it).
      await this.outbox
        .setFlowdockThreadId(next.threadId, answer.threadId)
        .catch((error: Error) =>
          this.logger.warn(
            `Noting Flowdock's id of ${next.externalThreadId} failed: ${error.message}`,
          ),
        );
    }
    return 'posted';
  }

  private flowToken(sourceId: string): Promise<string> {
    let flowToken = this.flowTokens.get(sourceId);
    if (!flowToken) {
      if (this.flowTokens.size >= FLOW_TOKENS_KEPT) this.flowTokens.clear();
      flowToken = this.sources.flowToken(sourceId);
      this.flowTokens.set(sourceId, flowToken);
      flowToken.catch(() => this.flowTokens.delete(sourceId));
    }
    return flowToken;
  }

  /** Records a failed attempt; true when the thread's next message may follow now. */
  private async handleFailure(next: OutboxMessage, error: unknown): Promise<boolean> {
    const reason = (error as Error)?.message ?? String(error);
    const where = `message ${next.uuid} of ${next.externalThreadId}`;
    if (error instanceof FlowdockGoneError) {
      const why = `Flowdock answered 410 Gone: the source was removed in Flowdock (${error.flowdockMessage})`;
      const dead = await this.dataSource.transaction(async (manager) => {
        await this.sources.disable(next.sourceId, why, manager);
        return this.outbox.deadLetterSource(
          manager,
          next.sourceId,
          `The source is disabled: ${why}`,
        );
      });
      this.metrics.flowdockDeadLettered('source_disabled', dead);
      this.logger.warn(`Disabled Flowdock source ${next.sourceId}: ${why}`);
      return false;
    }
    if (error instanceof FlowdockRefusedError) {
      await this.outbox.markDead(next.id, reason);
      this.metrics.flowdockDeadLettered('refused');
      this.logger.warn(`Dead-lettered ${where}: ${reason}`);
      return true;
    }
    const attempts = next.attempts + 1;
    if (attempts >= this.delivery.maxAttempts) {
      await this.outbox.markDead(next.id, `Gave up after ${attempts} attempts: ${reason}`);
      this.metrics.flowdockDeadLettered('attempts_exhausted');
      this.logger.warn(`Dead-lettered ${where} after ${attempts} attempts: ${reason}`);
      return false;
    }
    const retryAfterMs = error instanceof FlowdockRateLimitedError ? error.retryAfterMs : undefined;
    // At once, before any await: the threads in progress must not post meanwhile.
    if (retryAfterMs !== undefined) this.rateLimitedAt.set(next.sourceId, performance.now());
    const delay = retryDelayMs(attempts, {
      baseMs: this.delivery.retryBaseMs,
      maxMs: this.delivery.retryMaxMs,
      retryAfterMs,
    });
    await this.outbox.scheduleRetry(next.id, attempts, reason, delay);
    this.metrics.flowdockRetryScheduled();
    // Retry-After is about the flow token, not this thread: pause the whole source
    // (in the database for every replica's next lease, here for the threads in progress).
    if (retryAfterMs !== undefined) await this.outbox.pauseSource(next.sourceId, retryAfterMs);
    this.logger.log(`Retrying ${where} in ${delay} ms (attempt ${attempts}): ${reason}`);
    return false;
  }
}
