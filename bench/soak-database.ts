import type { Client } from 'pg';
import { connectReadOnly, connectToEmbedded } from './embedded-server';

export interface Backlog {
  /** Inbox deliveries not processed yet. */
  pendingDeliveries: number;
  /** Outbox messages not posted yet (waiting, or waiting for a retry). */
  pendingMessages: number;
  deadMessages: number;
  /** Connections to the bridge's database (this reader's left out). */
  connections: number;
}

export interface DeliveryRow {
  outcome: string | null;
  messages: number;
}

export interface MessageRow {
  uuid: string;
  status: 'pending' | 'sent' | 'dead';
  externalThreadId: string;
  /** Attempts counted by the bridge (the successful one included). */
  attempts: number;
  lastError: string | null;
}

/**
 * A read-only connection to the soak bridge's database: the backlog while it
 * runs, and the bridge's own record of every delivery and message at the end.
 */
export class SoakDatabase {
  private constructor(private readonly client: Client) {}

  /** `url`: the server database; undefined: the embedded server of `dataDir`. */
  static async connect(url: string | undefined, dataDir: string): Promise<SoakDatabase> {
    let client: Client;
    if (url) {
      client = await connectReadOnly({ connectionString: url });
    } else {
      const found = await connectToEmbedded(dataDir);
      if ('reason' in found) throw new Error(found.reason);
      client = found.client;
    }
    // A sample must not wait behind a stuck statement for long.
    await client.query('SET statement_timeout = 10000');
    return new SoakDatabase(client);
  }

  async backlog(): Promise<Backlog> {
    const { rows } = await this.client.query<Backlog>(
      `SELECT (SELECT count(*) FROM github_webhook_delivery WHERE processed_at IS NULL)::int AS "pendingDeliveries",
              (SELECT count(*) FROM flowdock_message WHERE status = 'pending')::int AS "pendingMessages",
              (SELECT count(*) FROM flowdock_message WHERE status = 'dead')::int AS "deadMessages",
              (SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid())::int AS connections`,
    );
    return rows[0];
  }

  /** Every delivery the bridge recorded, by delivery id (outcome null: not processed). */
  async deliveries(): Promise<Map<string, DeliveryRow>> {
    const { rows } = await this.client.query<DeliveryRow & { deliveryId: string }>(
      `SELECT delivery_id AS "deliveryId", outcome, messages FROM github_webhook_delivery`,
    );
    return new Map(rows.map((r) => [r.deliveryId, { outcome: r.outcome, messages: r.messages }]));
  }

  /** Every message of the outbox, with its thread's external id. */
  async messages(): Promise<MessageRow[]> {
    const { rows } = await this.client.query<MessageRow>(
      `SELECT m.uuid, m.status, t.external_thread_id AS "externalThreadId", m.attempts,
              m.last_error AS "lastError"
       FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id`,
    );
    return rows;
  }

  async end(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
