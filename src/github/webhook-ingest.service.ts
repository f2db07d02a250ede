import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { mapGitHubEvent } from './github-event.mapper';
import { isThreadKey, MappedEvent, ThreadKey, ThreadMessage } from './github-event.types';
import { GitHubThreadStore } from './github-thread.store';
import { rejection } from './subscription-matcher';
import { SubscriptionService } from './subscription.service';
import { ThreadMessageRow } from './thread-message.entity';
import { applyUpdate, StoredThread } from './thread-state';
import { DeliveryOutcome, WebhookDelivery } from './webhook-delivery.entity';

export interface IncomingDelivery {
  id: string;
  event: string;
  payload: object;
}

export type IngestResult = { outcome: DeliveryOutcome | 'duplicate'; messages: number };

const CI_TITLES = {
  success: 'CI passed',
  failure: 'CI failed',
  error: 'CI errored',
  pending: 'CI running',
};

/**
 * Records a verified delivery, merges it into its thread and enqueues its
 * message for every subscribed flow, all in one transaction: either all of it
 * is stored or none, and a redelivery (same id) changes nothing.
 */
@Injectable()
export class WebhookIngestService {
  private readonly logger = new Logger(WebhookIngestService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly threads: GitHubThreadStore,
    private readonly subscriptions: SubscriptionService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async ingest(delivery: IncomingDelivery): Promise<IngestResult> {
    const result = await this.dataSource.transaction((manager) => this.record(manager, delivery));
    this.logger.log(
      { deliveryId: delivery.id, event: delivery.event, ...result },
      'GitHub delivery',
    );
    return result;
  }

  private async record(manager: EntityManager, delivery: IncomingDelivery): Promise<IngestResult> {
    const envelope = delivery.payload as { action?: unknown; repository?: { full_name?: unknown } };
    const inserted: unknown[] = await manager.query(
      `INSERT INTO github_webhook_delivery (delivery_id, event, action, repository, outcome)
       VALUES ($1, $2, $3, $4, 'unhandled') ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id`,
      [
        delivery.id,
        delivery.event,
        typeof envelope.action === 'string' ? envelope.action : null,
        typeof envelope.repository?.full_name === 'string' ? envelope.repository.full_name : null,
      ],
    );
    if (inserted.length === 0) return { outcome: 'duplicate', messages: 0 };

    const result = await this.process(manager, delivery);
    await manager.update(WebhookDelivery, { deliveryId: delivery.id }, result);
    return result;
  }

  private async process(
    manager: EntityManager,
    delivery: IncomingDelivery,
  ): Promise<{ outcome: DeliveryOutcome; messages: number }> {
    if (delivery.event === 'ping') return { outcome: 'ping', messages: 0 };
    const mapped = mapGitHubEvent(delivery.event, delivery.payload);
    if (!mapped) return { outcome: 'unhandled', messages: 0 };

    const key = await this.threadKey(manager, mapped);
    if (!key) return { outcome: 'state-only', messages: 0 };
    const previous = await this.threads.lock(manager, key);
    const applied = applyUpdate(previous, mapped.update);
    if (!applied.thread) return { outcome: 'state-only', messages: 0 };
    await this.threads.save(manager, key, applied.thread);

    const message = this.messageFor(mapped, applied.thread, applied.ciChanged);
    if (!message) return { outcome: 'state-only', messages: 0 };
    const messages = await this.enqueue(manager, delivery.id, key, mapped, applied.thread, message);
    return { outcome: messages > 0 ? 'published' : 'dropped', messages };
  }

  /** The thread an event is about; CI events find it by head commit (none: nothing to show yet). */
  private async threadKey(manager: EntityManager, mapped: MappedEvent): Promise<ThreadKey | null> {
    if (isThreadKey(mapped.target)) return mapped.target;
    const { repository, headSha, numbers } = mapped.target;
    const keys = await this.threads.keysByHeadSha(manager, repository, headSha);
    return keys.find((k) => numbers.length === 0 || numbers.includes(k.number)) ?? null;
  }

  private messageFor(
    mapped: MappedEvent,
    thread: StoredThread,
    ciChanged: boolean,
  ): ThreadMessage | null {
    if (mapped.message) return mapped.message;
    const ci = thread.snapshot.ci;
    if (!ciChanged || !ci) return null;
    return {
      event: 'activity',
      title: CI_TITLES[ci.state],
      author: {
        name: mapped.sender.login,
        ...(mapped.sender.avatar_url ? { avatar: mapped.sender.avatar_url } : {}),
      },
    };
  }

  /** One message per subscribed flow that wants it; the default flow only when no subscription names the repository. */
  private async enqueue(
    manager: EntityManager,
    deliveryId: string,
    key: ThreadKey,
    mapped: MappedEvent,
    thread: StoredThread,
    message: ThreadMessage,
  ): Promise<number> {
    const subscriptions = await this.subscriptions.forRepository(key.repository, manager);
    const facts = {
      repository: key.repository,
      kind: mapped.kind,
      sender: mapped.sender,
      labels: thread.snapshot.labels,
    };
    const seen = new Set<string>();
    const targets: (string | null)[] = [];
    for (const subscription of subscriptions) {
      if (rejection(subscription, facts) || seen.has(subscription.flowTokenFingerprint)) continue;
      seen.add(subscription.flowTokenFingerprint);
      targets.push(subscription.id);
    }
    if (subscriptions.length === 0 && this.config.get('flowdock', { infer: true }).flowToken) {
      targets.push(null);
    }
    if (targets.length === 0) return 0;
    await manager.insert(
      ThreadMessageRow,
      targets.map((subscriptionId) => ({
        deliveryId,
        subscriptionId,
        ...key,
        event: message.event,
        title: message.title,
        body: message.body ?? null,
        author: message.author,
      })),
    );
    return targets.length;
  }
}
