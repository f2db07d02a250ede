import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ThreadEvent } from '../threads/thread-rendering';
import { externalThreadId, ThreadSnapshot } from '../threads/thread-snapshot';
import { UUID } from '../common/ids';
import { runLater, SqlSession } from '../database/pipelined-transaction';

interface PublishInput extends ThreadEvent {
  /** The FlowdockSourceService source to post to. */
  sourceId: string;
  /** The newest state of the thread after the change this message reports. */
  snapshot: ThreadSnapshot;
}

/** A batch for publishMany(). */
export interface PublishBatch {
  /** Each (source, thread) at most once, with the thread's newest snapshot. */
  snapshots: { sourceId: string; snapshot: ThreadSnapshot; create: boolean }[];
  messages: { sourceId: string; externalThreadId: string; event: ThreadEvent }[];
}

interface PublishedMessage {
  messageId: string;
  /** The message's `uuid` in Flowdock. */
  uuid: string;
  threadId: string;
}

export interface DeadLetter {
  messageId: string;
  uuid: string;
  sourceId: string;
  externalThreadId: string;
  event: ThreadEvent;
  attempts: number;
  reason: string | null;
  deadAt: Date;
}

interface DeliveryCounts {
  pending: number;
  sent: number;
  dead: number;
}

/** Each snapshot becomes its thread's newest state, then the messages are enqueued, in order. */
const PUBLISH = `WITH threads AS (
    INSERT INTO flowdock_thread (source_id, external_thread_id, snapshot, due_at)
    SELECT t.source_id, t.external_thread_id, t.snapshot, CASE WHEN t.enqueues THEN now() END
    FROM jsonb_to_recordset($1::jsonb)
      AS t(source_id uuid, external_thread_id text, snapshot jsonb, "create" boolean, enqueues boolean)
    WHERE t."create" OR EXISTS (SELECT 1 FROM flowdock_thread f
      WHERE f.source_id = t.source_id AND f.external_thread_id = t.external_thread_id)
    ON CONFLICT (source_id, external_thread_id) DO UPDATE
      SET snapshot = EXCLUDED.snapshot, version = flowdock_thread.version + 1, updated_at = now(),
          -- New messages queue behind a head waiting for its retry: never sooner than it.
          due_at = coalesce(flowdock_thread.due_at, EXCLUDED.due_at)
    RETURNING id, source_id, external_thread_id)
  INSERT INTO flowdock_message (uuid, thread_id, event, status, last_error, dead_at)
  SELECT m.uuid, t.id, m.event,
         CASE WHEN s.disabled_at IS NULL THEN 'pending' ELSE 'dead' END,
         CASE WHEN s.disabled_at IS NOT NULL
           THEN 'The source is disabled: ' || coalesce(s.disabled_reason, 'disabled') END,
         CASE WHEN s.disabled_at IS NOT NULL THEN now() END
  FROM jsonb_to_recordset($2::jsonb)
    AS m(ord int, uuid uuid, source_id uuid, external_thread_id text, event jsonb)
  JOIN threads t ON t.source_id = m.source_id AND t.external_thread_id = m.external_thread_id
  JOIN flowdock_source s ON s.id = m.source_id
  ORDER BY m.ord
  RETURNING id, uuid, thread_id`;

function publishParameters(batch: PublishBatch) {
  const enqueuing = new Set(batch.messages.map((m) => `${m.sourceId} ${m.externalThreadId}`));
  const messages = batch.messages.map((m, ord) => ({
    ord,
    uuid: randomUUID(),
    source_id: m.sourceId,
    external_thread_id: m.externalThreadId,
    event: {
      event: m.event.event,
      author: m.event.author,
      title: m.event.title,
      ...(m.event.body ? { body: m.event.body } : {}),
    },
  }));
  const snapshots = batch.snapshots.map((t) => {
    const external = externalThreadId(t.snapshot);
    return {
      source_id: t.sourceId,
      external_thread_id: external,
      snapshot: t.snapshot,
      create: t.create,
      enqueues: enqueuing.has(`${t.sourceId} ${external}`),
    };
  });
  return { params: [JSON.stringify(snapshots), JSON.stringify(messages)], messages };
}

/**
 * The write side of delivery: the GitHub module records the newest thread
 * snapshot and enqueues messages inside its own transaction (a transactional
 * outbox); FlowdockDeliveryWorker posts them. Also the operator's view of
 * dead letters and the way to re-drive them.
 */
@Injectable()
export class FlowdockDeliveryService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores the snapshot as the thread's newest state and enqueues the message,
   * in `manager`'s transaction. To a disabled source the message is kept as a
   * dead letter (with the source's reason) rather than lost or refused.
   */
  async publish(manager: EntityManager, input: PublishInput): Promise<PublishedMessage> {
    if (input.event !== 'activity' && input.event !== 'discussion') {
      throw new BadRequestException('A Flowdock thread message is an activity or a discussion');
    }
    if (!input.title?.trim()) throw new BadRequestException('A Flowdock message needs a title');
    if (!input.author?.name?.trim())
      throw new BadRequestException('A Flowdock message needs an author name');
    await this.requireSource(manager, input.sourceId);
    const { sourceId, snapshot, ...event } = input;
    const [published] = await this.publishMany(manager, {
      snapshots: [{ sourceId, snapshot, create: true }],
      messages: [{ sourceId, externalThreadId: externalThreadId(snapshot), event }],
    });
    return published;
  }

  /**
   * Stores a newer snapshot without a message of its own (e.g. the webhook
   * echo of a change the bridge already announced). The next message of the
   * thread carries it.
   */
  async updateSnapshot(
    manager: EntityManager,
    input: { sourceId: string; snapshot: ThreadSnapshot },
  ): Promise<void> {
    await this.requireSource(manager, input.sourceId);
    await this.publishMany(manager, {
      snapshots: [{ sourceId: input.sourceId, snapshot: input.snapshot, create: true }],
      messages: [],
    });
  }

  /**
   * The write side for a batch, in one statement inside `manager`'s
   * transaction: each snapshot becomes its thread's newest state (`create`
   * false: only where the source already has the thread), then the messages
   * are enqueued in the given order, each in its source's thread (which must
   * be among `snapshots` with `create`). Messages to a disabled source are kept
   * as dead letters with the source's reason.
   */
  async publishMany(manager: EntityManager, batch: PublishBatch): Promise<PublishedMessage[]> {
    if (batch.snapshots.length === 0) return [];
    const { params, messages } = publishParameters(batch);
    const rows: { id: string; uuid: string; thread_id: string }[] = await manager.query(
      PUBLISH,
      params,
    );
    const byUuid = new Map(rows.map((r) => [r.uuid, r]));
    return messages.flatMap((m) => {
      const row = byUuid.get(m.uuid);
      return row
        ? [{ messageId: String(row.id), uuid: m.uuid, threadId: String(row.thread_id) }]
        : [];
    });
  }

  /**
   * publishMany() for a caller that does not need the messages' ids: in a
   * PipelinedTransaction the statement travels with the next round trip.
   */
  async enqueue(session: SqlSession, batch: PublishBatch): Promise<void> {
    if (batch.snapshots.length === 0) return;
    await runLater(session, PUBLISH, publishParameters(batch).params);
  }

  async deadLetters(options: { sourceId?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT m.id, m.uuid, t.source_id, t.external_thread_id, m.event, m.attempts, m.last_error, m.dead_at
       FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
       WHERE m.status = 'dead' AND ($1::uuid IS NULL OR t.source_id = $1)
       ORDER BY m.dead_at DESC, m.id DESC LIMIT $2`,
      [options.sourceId ?? null, options.limit ?? 100],
    );
    return rows.map((row) => ({
      messageId: String(row.id),
      uuid: row.uuid as string,
      sourceId: row.source_id as string,
      externalThreadId: row.external_thread_id as string,
      event: row.event as ThreadEvent,
      attempts: row.attempts as number,
      reason: row.last_error as string | null,
      deadAt: row.dead_at as Date,
    }));
  }

  /**
   * Puts dead letters back in the queue (all of a source's, or the given ids)
   * with a fresh attempt count. Returns how many. Messages of a disabled
   * source die again at once: re-register a working flow token first.
   */
  async redrive(selection: { messageIds?: string[]; sourceId?: string }): Promise<number> {
    if (!selection.messageIds?.length && !selection.sourceId) {
      throw new BadRequestException(
        'Name the dead letters to re-drive: message ids or a source id',
      );
    }
    const rows: { count: number }[] = await this.dataSource.query(
      `WITH redriven AS (
         UPDATE flowdock_message m SET status = 'pending', attempts = 0, available_at = now(), dead_at = NULL
         FROM flowdock_thread t
         WHERE t.id = m.thread_id AND m.status = 'dead'
           AND ($1::bigint[] IS NULL OR m.id = ANY($1::bigint[]))
           AND ($2::uuid IS NULL OR t.source_id = $2)
         RETURNING m.thread_id),
       due AS (
         UPDATE flowdock_thread SET due_at = coalesce(due_at, now())
         WHERE id IN (SELECT thread_id FROM redriven))
       SELECT count(*)::int AS count FROM redriven`,
      [selection.messageIds?.length ? selection.messageIds : null, selection.sourceId ?? null],
    );
    await this.dataSource.query(`SELECT pg_notify('flowdock_outbox', '')`);
    return rows[0].count;
  }

  async counts(sourceId?: string): Promise<DeliveryCounts> {
    const rows: { status: keyof DeliveryCounts; count: string }[] = await this.dataSource.query(
      `SELECT m.status, count(*) AS count FROM flowdock_message m
       JOIN flowdock_thread t ON t.id = m.thread_id
       WHERE ($1::uuid IS NULL OR t.source_id = $1) GROUP BY m.status`,
      [sourceId ?? null],
    );
    const counts: DeliveryCounts = { pending: 0, sent: 0, dead: 0 };
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  private async requireSource(manager: EntityManager, sourceId: string): Promise<void> {
    const rows: unknown[] = UUID.test(sourceId)
      ? await manager.query(`SELECT 1 FROM flowdock_source WHERE id = $1`, [sourceId])
      : [];
    if (rows.length === 0)
      throw new NotFoundException(`Flowdock source ${sourceId} does not exist`);
  }
}
