import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ThreadEvent } from './thread-rendering';
import { externalThreadId, ThreadSnapshot } from './thread-snapshot';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PublishInput extends ThreadEvent {
  /** The FlowdockSourceService source to post to. */
  sourceId: string;
  /** The newest state of the thread after the change this message reports. */
  snapshot: ThreadSnapshot;
}

export interface PublishedMessage {
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

export interface DeliveryCounts {
  pending: number;
  sent: number;
  dead: number;
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
    const { threadId, disabledReason } = await this.upsertThread(
      manager,
      input.sourceId,
      input.snapshot,
    );
    const event: ThreadEvent = {
      event: input.event,
      author: input.author,
      title: input.title,
      ...(input.body ? { body: input.body } : {}),
    };
    const uuid = randomUUID();
    const rows: { id: string }[] = await manager.query(
      `INSERT INTO flowdock_message (uuid, thread_id, event, status, last_error, dead_at)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 = 'dead' THEN now() END) RETURNING id`,
      [
        uuid,
        threadId,
        JSON.stringify(event),
        disabledReason ? 'dead' : 'pending',
        disabledReason ? `The source is disabled: ${disabledReason}` : null,
      ],
    );
    return { messageId: String(rows[0].id), uuid, threadId };
  }

  /**
   * Stores a newer snapshot without a message of its own (e.g. the webhook
   * echo of a change the bridge already announced). The next message of the
   * thread carries it.
   */
  async updateSnapshot(
    manager: EntityManager,
    input: { sourceId: string; snapshot: ThreadSnapshot },
  ): Promise<{ threadId: string }> {
    const { threadId } = await this.upsertThread(manager, input.sourceId, input.snapshot);
    return { threadId };
  }

  /** The newest stored snapshot of a thread, if any. */
  async snapshot(
    sourceId: string,
    snapshot: Pick<ThreadSnapshot, 'repository' | 'kind' | 'number'>,
  ) {
    const rows: { snapshot: ThreadSnapshot }[] = await this.dataSource.query(
      `SELECT snapshot FROM flowdock_thread WHERE source_id = $1 AND external_thread_id = $2`,
      [sourceId, externalThreadId(snapshot)],
    );
    return rows[0]?.snapshot;
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
    const result: [unknown[], number] = await this.dataSource.query(
      `UPDATE flowdock_message m SET status = 'pending', attempts = 0, available_at = now(), dead_at = NULL
       FROM flowdock_thread t
       WHERE t.id = m.thread_id AND m.status = 'dead'
         AND ($1::bigint[] IS NULL OR m.id = ANY($1::bigint[]))
         AND ($2::uuid IS NULL OR t.source_id = $2)`,
      [selection.messageIds?.length ? selection.messageIds : null, selection.sourceId ?? null],
    );
    return result[1];
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

  private async upsertThread(
    manager: EntityManager,
    sourceId: string,
    snapshot: ThreadSnapshot,
  ): Promise<{ threadId: string; disabledReason: string | null }> {
    if (!UUID.test(sourceId))
      throw new NotFoundException(`Flowdock source ${sourceId} does not exist`);
    const sources: { disabled_reason: string | null; disabled_at: Date | null }[] =
      await manager.query(
        `SELECT disabled_at, disabled_reason FROM flowdock_source WHERE id = $1`,
        [sourceId],
      );
    if (sources.length === 0)
      throw new NotFoundException(`Flowdock source ${sourceId} does not exist`);
    const rows: { id: string }[] = await manager.query(
      `INSERT INTO flowdock_thread (source_id, external_thread_id, snapshot) VALUES ($1, $2, $3)
       ON CONFLICT (source_id, external_thread_id) DO UPDATE
         SET snapshot = EXCLUDED.snapshot, version = flowdock_thread.version + 1, updated_at = now()
       RETURNING id`,
      [sourceId, externalThreadId(snapshot), JSON.stringify(snapshot)],
    );
    const source = sources[0];
    return {
      threadId: String(rows[0].id),
      disabledReason: source.disabled_at ? (source.disabled_reason ?? 'disabled') : null,
    };
  }
}
