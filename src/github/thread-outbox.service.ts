import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { ThreadKey, ThreadMessage } from './github-event.types';
import { GhUser } from './github-payload.types';
import { rejection } from './subscription-matcher';
import { SubscriptionService } from './subscription.service';
import { ThreadMessageRow } from './thread-message.entity';

export interface OutgoingMessage {
  key: ThreadKey;
  /** `event.action`, for subscription filters. */
  kind: string;
  sender: GhUser;
  /** The item's labels after the change. */
  labels: string[];
  message: ThreadMessage;
  deliveryId: string | null;
}

/**
 * Enqueues a thread message for every subscribed flow that wants it, in the
 * caller's transaction; the default flow (FLOWDOCK_FLOW_TOKEN) only when no
 * subscription names the repository. Two subscriptions to the same flow get one message.
 */
@Injectable()
export class ThreadOutbox {
  constructor(
    private readonly subscriptions: SubscriptionService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  /** Returns how many messages were enqueued (0: nobody subscribed, or filtered out). */
  async enqueue(manager: EntityManager, out: OutgoingMessage): Promise<number> {
    const subscriptions = await this.subscriptions.forRepository(out.key.repository, manager);
    const facts = {
      repository: out.key.repository,
      kind: out.kind,
      sender: out.sender,
      labels: out.labels,
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
        deliveryId: out.deliveryId,
        subscriptionId,
        ...out.key,
        event: out.message.event,
        title: out.message.title,
        body: out.message.body ?? null,
        author: out.message.author,
      })),
    );
    return targets.length;
  }
}
