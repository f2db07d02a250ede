import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { standaloneClient } from './pg-connection';

/** The channels the bridge's triggers NOTIFY (see the WebhookInbox migration). */
type WorkChannel = 'github_inbox' | 'flowdock_outbox';

const RECONNECT_MS = 1_000;

/**
 * Wakes the workers of this process when work arrives: at once for work this
 * process stored (notify()), and through PostgreSQL LISTEN for work any
 * replica stored. One connection of its own LISTENs; after it is lost it
 * reconnects and wakes every listener once, since notifications may have
 * been missed meanwhile (the workers' slow polls are the last safety net).
 */
@Injectable()
export class DatabaseNotifications implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('DatabaseNotifications');
  private readonly handlers = new Map<WorkChannel, Set<() => void>>();
  private client: Client | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private stopped = false;
  private connectedOnce = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Calls `handler` whenever `channel` is notified. */
  on(channel: WorkChannel, handler: () => void): void {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
  }

  /** Wakes this process's listeners of `channel` now. */
  notify(channel: WorkChannel): void {
    for (const handler of this.handlers.get(channel) ?? []) handler();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnect);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = standaloneClient(this.dataSource);
    client.on('notification', (message) => this.notify(message.channel as WorkChannel));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query('LISTEN github_inbox; LISTEN flowdock_outbox');
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.connectedOnce) {
      this.logger.log('Listening for work notifications again');
      for (const channel of this.handlers.keys()) this.notify(channel);
    }
    this.connectedOnce = true;
  }

  private lost(client: Client, error?: Error): void {
    const wasListening = this.client === client;
    if (wasListening) this.client = undefined;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    if (this.stopped || this.reconnect) return;
    // Said once when the connection goes; failed attempts to get it back stay quiet.
    if (wasListening) {
      this.logger.warn(
        `The notification connection was lost${error ? ` (${error.message})` : ''}; reconnecting every ${RECONNECT_MS} ms`,
      );
    }
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      void this.connect();
    }, RECONNECT_MS);
    this.reconnect.unref();
  }
}
