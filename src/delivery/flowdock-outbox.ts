import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { retryOnDeadlock } from '../database/deadlocks';
import { ThreadEvent } from '../threads/thread-rendering';
import { ThreadSnapshot } from '../threads/thread-snapshot';

/** A thread's pending message, with the thread's newest snapshot (one object for a read) and its source's state. */
export interface OutboxMessage {
  id: string;
  threadId: string;
  uuid: string;
  event: ThreadEvent;
  attempts: number;
  /** Its retry time has come. */
  due: boolean;
  snapshot: ThreadSnapshot;
  sourceId: string;
  externalThreadId: string;
  /** Flowdock's id of the thread; null until the answer to a post has told it. */
  flowdockThreadId: string | null;
  /**
   * The id is unknown and replies in the thread's flow are listened to (some
   * source of that flow has a stream token, even one Flowdock refused and that
   * awaits a new one): the next post waits for Flowdock's answer that tells
   * it. Where no token was ever given, posts never wait.
   */
  threadIdWanted: boolean;
  disabled: boolean;
  disabledReason: string | null;
  /** The source waits for a Retry-After. */
  paused: boolean;
}

/** Sent messages removed per statement when pruning. */
const PRUNE_BATCH = 5_000;

const ms = (param: string) => `${param} * interval '1 millisecond'`;

/**
 * Threads (alias t) with their source's state and their oldest pending
 * messages (as many as the parameter `limit` names) as a list: one row per
 * thread, the snapshot once.
 */
const readThreads = (limit: string) => `
  SELECT t.id, t.version, t.snapshot, t.source_id, t.external_thread_id, t.flowdock_thread_id, s.disabled_at, s.disabled_reason,
         coalesce(s.paused_until > now(), false) AS paused,
         t.flowdock_thread_id IS NULL AND EXISTS (
           SELECT 1 FROM flowdock_source h
           WHERE h.flow = s.flow AND h.stream_token_encrypted IS NOT NULL) AS thread_id_wanted,
         (SELECT coalesce(json_agg(m ORDER BY m.id), '[]') FROM (
            SELECT id, uuid, event, attempts, available_at <= now() AS due
            FROM flowdock_message
            WHERE thread_id = t.id AND status = 'pending' ORDER BY id LIMIT ${limit}) m) AS messages
  FROM flowdock_thread t JOIN flowdock_source s ON s.id = t.source_id`;

interface ThreadRead {
  id: string;
  version: number;
  snapshot: ThreadSnapshot;
  source_id: string;
  external_thread_id: string;
  flowdock_thread_id: string | null;
  thread_id_wanted: boolean;
  disabled_at: Date | null;
  disabled_reason: string | null;
  paused: boolean;
  messages: {
    id: number | string;
    uuid: string;
    event: ThreadEvent;
    attempts: number;
    due: boolean;
  }[];
}

/** Messages of one thread posted since its last mark, and what becomes of its lease. */
export interface SentMark {
  threadId: string;
  owner: string;
  messageIds: string[];
  lease: { renewMs: number } | { release: { version: number } };
}

/** A read of one thread: its version then, and its oldest pending messages. */
export interface ThreadBatch {
  threadId: string;
  version: number;
  messages: OutboxMessage[];
}

const toBatch = (row: ThreadRead): ThreadBatch => ({
  threadId: String(row.id),
  version: row.version,
  messages: row.messages.map((m) => ({
    id: String(m.id),
    threadId: String(row.id),
    uuid: m.uuid,
    event: m.event,
    attempts: m.attempts,
    due: m.due,
    snapshot: row.snapshot,
    sourceId: row.source_id,
    externalThreadId: row.external_thread_id,
    flowdockThreadId: row.flowdock_thread_id,
    threadIdWanted: row.thread_id_wanted,
    disabled: row.disabled_at !== null,
    disabledReason: row.disabled_reason,
    paused: row.paused,
  })),
});

/**
 * The delivery worker's statements on the outbox tables: thread leases, the
 * next message of a thread, and the outcome of each attempt. UPDATEs that must
 * return rows are wrapped in a CTE: the driver then returns the rows as for a
 * SELECT.
 */
@Injectable()
export class FlowdockOutbox {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Leases up to `limit` threads whose oldest pending message is due, whose
   * lease is free or expired and whose source is not paused, longest due first,
   * and returns each with its first `read` pending messages (a read, as
   * nextMessages gives). SKIP LOCKED lets several processes lease at once
   * without taking the same thread.
   */
  async leaseThreads(
    owner: string,
    leaseMs: number,
    limit: number,
    read: number,
    sourceIds?: string[],
  ): Promise<ThreadBatch[]> {
    // flowdock_thread_due: leasing costs what is due, not how many threads exist.
    const rows: ThreadRead[] = await this.dataSource.query(
      `WITH leased AS (
         UPDATE flowdock_thread SET lease_owner = $1, lease_until = now() + ${ms('$2')}
         WHERE id IN (
           SELECT t.id FROM flowdock_thread t
           JOIN flowdock_source s ON s.id = t.source_id
             AND (s.paused_until IS NULL OR s.paused_until <= now())
           WHERE t.due_at <= now() AND (t.lease_until IS NULL OR t.lease_until < now())
             AND ($5::uuid[] IS NULL OR t.source_id = ANY($5::uuid[]))
           ORDER BY t.due_at LIMIT $3
           FOR UPDATE OF t SKIP LOCKED)
         RETURNING id)
       ${readThreads('$4')} JOIN leased l ON l.id = t.id`,
      [owner, leaseMs, limit, read, sourceIds ?? null],
    );
    return rows.map(toBatch);
  }

  /** A thread's oldest pending messages, in order, each with the thread's snapshot as it is now. */
  async nextMessages(threadId: string, limit: number): Promise<ThreadBatch> {
    const [row]: ThreadRead[] = await this.dataSource.query(
      `${readThreads('$2')} WHERE t.id = $1`,
      [threadId, limit],
    );
    return row ? toBatch(row) : { threadId, version: 0, messages: [] };
  }

  /**
   * For each thread: marks messages sent (those posted since its last mark)
   * and renews the thread's lease, or gives it back, all in one statement;
   * per thread, false if the lease was lost. Giving a lease back sets when
   * the thread is due next: its oldest pending message's time, or never —
   * unless the thread changed since `release.version` was read (messages may
   * have been enqueued meanwhile, unseen by this statement's snapshot): then now.
   */
  async markSent(marks: SentMark[]): Promise<boolean[]> {
    // It can deadlock with a processing batch's upsert of the same threads: it then goes again.
    const rows: { id: string }[] = await retryOnDeadlock(() =>
      this.dataSource.query(
        `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS i(thread_id bigint, owner text, message_ids bigint[], renew_ms int, version int)),
       sent AS (
         UPDATE flowdock_message SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = ANY($2::bigint[]) AND status = 'pending'),
       lease AS (
         UPDATE flowdock_thread t
         SET lease_until = CASE WHEN i.version IS NULL THEN now() + ${ms('i.renew_ms')} END,
             lease_owner = CASE WHEN i.version IS NULL THEN t.lease_owner END,
             due_at = CASE
               WHEN i.version IS NULL THEN t.due_at
               WHEN t.version <> i.version THEN now()
               ELSE (SELECT m.available_at FROM flowdock_message m
                     WHERE m.thread_id = t.id AND m.status = 'pending' AND NOT m.id = ANY(i.message_ids)
                     ORDER BY m.id LIMIT 1)
             END
         FROM input i WHERE t.id = i.thread_id AND t.lease_owner = i.owner RETURNING t.id)
       SELECT id FROM lease`,
        [
          JSON.stringify(
            marks.map((m) => ({
              thread_id: m.threadId,
              owner: m.owner,
              message_ids: m.messageIds,
              renew_ms: 'renewMs' in m.lease ? m.lease.renewMs : null,
              version: 'release' in m.lease ? m.lease.release.version : null,
            })),
          ),
          marks.flatMap((m) => m.messageIds),
        ],
      ),
    );
    const kept = new Set(rows.map((r) => String(r.id)));
    return marks.map((m) => kept.has(m.threadId));
  }

  /**
   * Makes threads due again whose oldest pending message is due sooner than
   * the thread says (pending messages edited by hand, a crash between two
   * statements); returns how many. Costs what is pending.
   */
  async repairDue(): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH heads AS (
         SELECT DISTINCT ON (thread_id) thread_id, available_at FROM flowdock_message
         WHERE status = 'pending' ORDER BY thread_id, id),
       repaired AS (
         UPDATE flowdock_thread t SET due_at = h.available_at FROM heads h
         WHERE t.id = h.thread_id AND (t.due_at IS NULL OR t.due_at > h.available_at)
         RETURNING t.id)
       SELECT id FROM repaired`,
    );
    return rows.length;
  }

  /**
   * Removes messages sent more than `days` ago (dead letters stay until they
   * are re-driven or their source is removed), a batch at a time; returns how many.
   */
  async pruneSent(days: number): Promise<number> {
    let removed = 0;
    for (;;) {
      const [, count]: [unknown, number] = await this.dataSource.query(
        `DELETE FROM flowdock_message WHERE id IN (
           SELECT id FROM flowdock_message
           WHERE status = 'sent' AND sent_at < now() - make_interval(days => $1)
           LIMIT $2)`,
        [days, PRUNE_BATCH],
      );
      removed += count;
      if (count < PRUNE_BATCH) return removed;
    }
  }

  /** Records Flowdock's id of a thread (replies in it are recognised by it). */
  async setFlowdockThreadId(threadId: string, flowdockThreadId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE flowdock_thread SET flowdock_thread_id = $2
       WHERE id = $1 AND flowdock_thread_id IS DISTINCT FROM $2`,
      [threadId, flowdockThreadId],
    );
  }

  async markDead(messageId: string, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE flowdock_message SET status = 'dead', dead_at = now(), attempts = attempts + 1, last_error = $2
       WHERE id = $1 AND status = 'pending'`,
      [messageId, reason],
    );
  }

  async scheduleRetry(messageId: string, attempts: number, reason: string, delayMs: number) {
    await this.dataSource.query(
      `UPDATE flowdock_message SET attempts = $2, last_error = $3, available_at = now() + ${ms('$4')}
       WHERE id = $1 AND status = 'pending'`,
      [messageId, attempts, reason, delayMs],
    );
  }

  /** Nothing is posted with the source's token for `delayMs` (never shortens a longer pause). */
  async pauseSource(sourceId: string, delayMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE flowdock_source
       SET paused_until = greatest(coalesce(paused_until, now()), now() + ${ms('$2')})
       WHERE id = $1`,
      [sourceId, delayMs],
    );
  }

  /** Dead-letters every pending message of a source, in `manager`'s transaction; returns how many. */
  async deadLetterSource(
    manager: EntityManager,
    sourceId: string,
    reason: string,
  ): Promise<number> {
    const [, count]: [unknown, number] = await manager.query(
      `UPDATE flowdock_message m SET status = 'dead', dead_at = now(), last_error = $2
       FROM flowdock_thread t
       WHERE t.id = m.thread_id AND t.source_id = $1 AND m.status = 'pending'`,
      [sourceId, reason],
    );
    return count;
  }
}
