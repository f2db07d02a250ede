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
import { retryDelayMs } from './delivery-backoff';
import { FlowdockClient } from './flowdock-client';
import {
  FlowdockGoneError,
  FlowdockRateLimitedError,
  FlowdockRefusedError,
} from './flowdock-errors';
import { FlowdockSourceService } from './flowdock-sources.service';
import { renderMessage, ThreadEvent } from './thread-rendering';
import { ThreadSnapshot } from './thread-snapshot';

/** Threads one worker delivers at the same time. */
const CONCURRENT_THREADS = 16;
/** Messages delivered for one thread before its lease is given back to the pool. */
const MESSAGES_PER_LEASE = 50;

interface NextMessage {
  id: string;
  threadId: string;
  uuid: string;
  event: ThreadEvent;
  attempts: number;
  due: boolean;
  snapshot: ThreadSnapshot;
  sourceId: string;
  disabledReason: string | null;
  disabled: boolean;
  externalThreadId: string;
}

/**
 * Posts the outbox to Flowdock, at least once, in order per thread. Each pass
 * leases due threads (FOR UPDATE SKIP LOCKED + a lease in the row, so several
 * bridge processes share the work and never deliver one thread at the same
 * time), and for each thread sends its pending messages oldest first, each
 * rendered from the thread's newest snapshot at that moment.
 *
 * Failures: 429 and transient ones wait (Retry-After, else exponential
 * backoff) and block the thread's later messages to keep order; after
 * FLOWDOCK_MAX_ATTEMPTS they are dead-lettered. Other 4xx dead-letter the
 * message with Flowdock's reason. 410 disables the source and dead-letters its
 * pending messages. A process that dies mid-send leaves a lease that expires;
 * the message is then resent with the same uuid.
 */
@Injectable()
export class FlowdockDeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('FlowdockDelivery');
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly delivery: AppConfig['flowdock']['delivery'];
  private readonly publicUrl: string;
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<number> | undefined;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly client: FlowdockClient,
    private readonly sources: FlowdockSourceService,
    config: ConfigService<AppConfig, true>,
  ) {
    const flowdock = config.get('flowdock', { infer: true });
    this.delivery = flowdock.delivery;
    this.publicUrl = config.get('publicUrl', { infer: true });
    // Long enough for a send that times out, short enough that a crashed
    // process's threads are picked up again soon.
    this.leaseMs = Math.max(5_000, flowdock.timeoutMs * 3);
  }

  onApplicationBootstrap(): void {
    if (this.delivery.pollIntervalMs > 0) this.schedule(0);
  }

  /** Stops polling and waits for the current pass, so no send is cut off by the pool closing. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass?.catch(() => undefined);
  }

  /**
   * One delivery pass over the due threads (of the given sources only, when
   * named: tests sharing a database use that); returns how many messages it settled.
   */
  async runOnce(options: { sourceIds?: string[] } = {}): Promise<number> {
    const threadIds = await this.leaseThreads(options.sourceIds);
    // Flow tokens decrypted once per pass, not per message.
    const tokens = new Map<string, Promise<string>>();
    const settled = await Promise.all(threadIds.map((id) => this.deliverThread(id, tokens)));
    return settled.reduce((a, b) => a + b, 0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce();
      this.pass
        .catch((error: unknown) => {
          this.logger.error(`Delivery pass failed: ${(error as Error).message}`);
          return 0;
        })
        // Keep going while there is work; otherwise wait for the next poll.
        .then((settled) => this.schedule(settled > 0 ? 0 : this.delivery.pollIntervalMs))
        .catch(() => undefined);
    }, delayMs);
    this.timer.unref();
  }

  private async leaseThreads(sourceIds?: string[]): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      // Wrapped in a CTE so the driver returns the rows, as for a SELECT.
      `WITH leased AS (
       UPDATE flowdock_thread SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
       WHERE id IN (
         SELECT t.id FROM flowdock_thread t
         JOIN LATERAL (
           SELECT m.id, m.available_at FROM flowdock_message m
           WHERE m.thread_id = t.id AND m.status = 'pending' ORDER BY m.id LIMIT 1
         ) head ON true
         WHERE head.available_at <= now() AND (t.lease_until IS NULL OR t.lease_until < now())
           AND ($4::uuid[] IS NULL OR t.source_id = ANY($4::uuid[]))
         ORDER BY head.id LIMIT $3
         FOR UPDATE OF t SKIP LOCKED
       )
       RETURNING id)
       SELECT id FROM leased`,
      [this.workerId, this.leaseMs, CONCURRENT_THREADS, sourceIds ?? null],
    );
    return rows.map((row) => String(row.id));
  }

  private async deliverThread(
    threadId: string,
    tokens: Map<string, Promise<string>>,
  ): Promise<number> {
    let settled = 0;
    try {
      for (let i = 0; i < MESSAGES_PER_LEASE && !this.stopped; i++) {
        const next = await this.nextMessage(threadId);
        if (!next || !next.due) break;
        const outcome = await this.deliver(next, tokens);
        settled++;
        if (outcome === 'stop') break;
        if (outcome === 'next' && !(await this.renewLease(threadId))) break;
      }
    } catch (error) {
      this.logger.error(`Delivering thread ${threadId} failed: ${(error as Error).message}`);
    } finally {
      await this.dataSource
        .query(
          `UPDATE flowdock_thread SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
          [threadId, this.workerId],
        )
        .catch(() => undefined);
    }
    return settled;
  }

  /**
   * Sends one message. 'renewed': sent, and the lease renewed in the same
   * statement; 'next': settled otherwise, the next message may follow; 'stop':
   * the thread waits (retry later, or the lease is lost).
   */
  private async deliver(
    next: NextMessage,
    tokens: Map<string, Promise<string>>,
  ): Promise<'renewed' | 'next' | 'stop'> {
    if (next.disabled) {
      await this.markDead(next.id, `The source is disabled: ${next.disabledReason ?? 'disabled'}`);
      return 'next';
    }
    try {
      let flowToken = tokens.get(next.sourceId);
      if (!flowToken) {
        flowToken = this.sources.flowToken(next.sourceId);
        tokens.set(next.sourceId, flowToken);
        flowToken.catch(() => tokens.delete(next.sourceId));
      }
      await this.client.postMessage(
        await flowToken,
        renderMessage(next.event, next.snapshot, next.uuid, this.publicUrl),
      );
    } catch (error) {
      return (await this.handleFailure(next, error)) ? 'next' : 'stop';
    }
    const renewed: unknown[] = await this.dataSource.query(
      `WITH sent AS (
         UPDATE flowdock_message SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = $1 AND status = 'pending'),
       renewed AS (
         UPDATE flowdock_thread SET lease_until = now() + $4 * interval '1 millisecond'
         WHERE id = $2 AND lease_owner = $3 RETURNING id)
       SELECT id FROM renewed`,
      [next.id, next.threadId, this.workerId, this.leaseMs],
    );
    return renewed.length === 1 ? 'renewed' : 'stop';
  }

  private async handleFailure(next: NextMessage, error: unknown): Promise<boolean> {
    const reason = (error as Error)?.message ?? String(error);
    const where = `message ${next.uuid} of ${next.externalThreadId}`;
    if (error instanceof FlowdockGoneError) {
      const why = `Flowdock answered 410 Gone: the source was removed in Flowdock (${error.flowdockMessage})`;
      await this.dataSource.transaction(async (manager) => {
        await this.sources.disable(next.sourceId, why, manager);
        await manager.query(
          `UPDATE flowdock_message m SET status = 'dead', dead_at = now(), last_error = $2
           FROM flowdock_thread t
           WHERE t.id = m.thread_id AND t.source_id = $1 AND m.status = 'pending'`,
          [next.sourceId, `The source is disabled: ${why}`],
        );
      });
      this.logger.warn(`Disabled Flowdock source ${next.sourceId}: ${why}`);
      return false;
    }
    if (error instanceof FlowdockRefusedError) {
      await this.markDead(next.id, reason);
      this.logger.warn(`Dead-lettered ${where}: ${reason}`);
      return true;
    }
    const attempts = next.attempts + 1;
    if (attempts >= this.delivery.maxAttempts) {
      await this.markDead(next.id, `Gave up after ${attempts} attempts: ${reason}`);
      this.logger.warn(`Dead-lettered ${where} after ${attempts} attempts: ${reason}`);
      return false;
    }
    const delay = retryDelayMs(attempts, {
      baseMs: this.delivery.retryBaseMs,
      maxMs: this.delivery.retryMaxMs,
      retryAfterMs: error instanceof FlowdockRateLimitedError ? error.retryAfterMs : undefined,
    });
    await this.dataSource.query(
      `UPDATE flowdock_message SET attempts = $2, last_error = $3,
         available_at = now() + $4 * interval '1 millisecond'
       WHERE id = $1 AND status = 'pending'`,
      [next.id, attempts, reason, delay],
    );
    this.logger.log(`Retrying ${where} in ${delay} ms (attempt ${attempts}): ${reason}`);
    return false;
  }

  private async markDead(messageId: string, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE flowdock_message SET status = 'dead', dead_at = now(), attempts = attempts + 1, last_error = $2
       WHERE id = $1 AND status = 'pending'`,
      [messageId, reason],
    );
  }

  private async renewLease(threadId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH renewed AS (
         UPDATE flowdock_thread SET lease_until = now() + $3 * interval '1 millisecond'
         WHERE id = $1 AND lease_owner = $2 RETURNING id)
       SELECT id FROM renewed`,
      [threadId, this.workerId, this.leaseMs],
    );
    return rows.length === 1;
  }

  /** The thread's oldest pending message with the thread's newest snapshot and its source's state. */
  private async nextMessage(threadId: string): Promise<NextMessage | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT m.id, m.uuid, m.event, m.attempts, m.available_at <= now() AS due,
              t.snapshot, t.source_id, t.external_thread_id, s.disabled_at, s.disabled_reason
       FROM flowdock_message m
       JOIN flowdock_thread t ON t.id = m.thread_id
       JOIN flowdock_source s ON s.id = t.source_id
       WHERE m.thread_id = $1 AND m.status = 'pending'
       ORDER BY m.id LIMIT 1`,
      [threadId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      id: String(row.id),
      threadId,
      uuid: row.uuid as string,
      event: row.event as ThreadEvent,
      attempts: row.attempts as number,
      due: row.due as boolean,
      snapshot: row.snapshot as ThreadSnapshot,
      sourceId: row.source_id as string,
      externalThreadId: row.external_thread_id as string,
      disabled: row.disabled_at !== null,
      disabledReason: row.disabled_reason as string | null,
    };
  }
}
