import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseNotifications } from '../database/database-notifications';
import { GroupCommit } from '../database/group-commit';
import { StormWatch } from '../database/pass-pacing';
import { extraPool } from '../database/pg-connection';
import { InboxEntry } from './delivery-intake';

export type AppendResult = 'accepted' | 'duplicate';

/** The inbox could not store the delivery: GitHub should send it again later. */
export class InboxUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`The database did not store the delivery: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'InboxUnavailableError';
  }
}

/** PostgreSQL refused a value (SQLSTATE class 22, data exception), not the connection or the statement. */
const refusedData = (error: unknown) => /^22/.test((error as { code?: string })?.code ?? '');

/** Rows per INSERT. */
const MAX_BATCH = 256;
/** INSERTs in flight; requests arriving meanwhile wait and share the next one. */
const MAX_FLUSHES = 2;
/** GitHub gives up after 10 s: answer 503 well before. */
const STATEMENT_TIMEOUT_MS = 5_000;

const INSERT = `
  INSERT INTO github_webhook_delivery
    (delivery_id, event, action, repository, item_kind, item_number, work, outcome, reason,
     sender, processed_at)
  SELECT d, e, a, r, k, n, w, o, re, se, CASE WHEN o IS NULL THEN NULL ELSE now() END
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
              $8::text[], $9::text[], $10::text[]) AS t(d, e, a, r, k, n, w, o, re, se)
  ON CONFLICT (delivery_id) DO NOTHING
  RETURNING delivery_id`;

/**
 * Stores verified deliveries durably with group commit: requests that arrive
 * while earlier INSERTs are in flight share the next multi-row INSERT, so
 * under load a commit (one WAL flush) serves many webhooks, and with no load
 * a webhook waits for nothing but its own. Rows keep arrival order (`seq`).
 * A redelivered id changes nothing and is reported as a duplicate.
 *
 * It has a small pool of its own, so webhooks never queue behind the workers'
 * connections.
 */
@Injectable()
export class WebhookInbox implements OnApplicationShutdown {
  private readonly logger = new Logger('WebhookInbox');
  private pool: Pool | undefined;
  private readonly batches = new GroupCommit<InboxEntry, AppendResult>(
    (entries) => this.store(entries),
    { maxBatch: MAX_BATCH, maxInFlight: MAX_FLUSHES },
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly notifications: DatabaseNotifications,
    storm: StormWatch,
  ) {
    storm.watch(() => this.batches.waiting);
  }

  /** Webhook requests waiting for their delivery to be stored (how many queue up in a storm). */
  get waiting(): number {
    return this.batches.waiting;
  }

  async append(entry: InboxEntry): Promise<AppendResult> {
    try {
      return await this.batches.add(entry);
    } catch (error) {
      throw new InboxUnavailableError(error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }

  /** One batch: one INSERT; the same id twice in a batch (GitHub retrying meanwhile) is a duplicate. */
  private async store(entries: InboxEntry[]): Promise<AppendResult[]> {
    const unique = [...new Map(entries.map((e) => [e.deliveryId, e])).values()];
    let stored: Set<string>;
    try {
      stored = await this.insert(unique);
    } catch (error) {
      if (!refusedData(error)) {
        this.logger.error(
          `Storing ${entries.length} webhook deliveries failed: ${(error as Error).message}`,
        );
        throw error;
      }
      stored = await this.insertOneByOne(unique);
    }
    if (unique.some((e) => e.work !== null && stored.has(e.deliveryId))) {
      this.notifications.notify('github_inbox');
    }
    // The first of a repeated id in the batch is the one stored.
    return entries.map((e) => {
      const accepted = stored.delete(e.deliveryId);
      return accepted ? 'accepted' : 'duplicate';
    });
  }

  /**
   * PostgreSQL refused a value of the batch (intake cleans text, so this is a
   * bug): each delivery alone, so one cannot fail the others, and one it
   * refuses is stored without its content, as failed with the reason.
   */
  private async insertOneByOne(entries: InboxEntry[]): Promise<Set<string>> {
    const stored = new Set<string>();
    for (const entry of entries) {
      let accepted: Set<string>;
      try {
        accepted = await this.insert([entry]);
      } catch (error) {
        if (!refusedData(error)) throw error;
        const reason = `PostgreSQL refused its content: ${(error as Error).message}`;
        this.logger.error(`Delivery ${entry.deliveryId} is stored as failed: ${reason}`);
        accepted = await this.insert([
          {
            ...entry,
            action: null,
            repository: null,
            sender: null,
            item: null,
            work: null,
            outcome: 'failed',
            reason,
          },
        ]);
      }
      for (const id of accepted) stored.add(id);
    }
    return stored;
  }

  private async insert(entries: InboxEntry[]): Promise<Set<string>> {
    this.pool ??= extraPool(
      this.dataSource,
      {
        max: MAX_FLUSHES,
        statement_timeout: STATEMENT_TIMEOUT_MS,
        query_timeout: STATEMENT_TIMEOUT_MS,
      },
      (error) => this.logger.warn(`An idle inbox connection failed: ${error.message}`),
    );
    const column = <T>(pick: (e: InboxEntry) => T) => entries.map(pick);
    const { rows } = await this.pool.query<{ delivery_id: string }>(INSERT, [
      column((e) => e.deliveryId),
      column((e) => e.event),
      column((e) => e.action),
      column((e) => e.repository),
      column((e) => e.item?.kind ?? null),
      column((e) => e.item?.number ?? null),
      column((e) => (e.work ? JSON.stringify(e.work) : null)),
      column((e) => e.outcome),
      column((e) => e.reason),
      column((e) => e.sender ?? null),
    ]);
    return new Set(rows.map((r) => r.delivery_id));
  }
}
