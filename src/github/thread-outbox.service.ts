import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { FlowdockDeliveryService } from '../flowdock/flowdock-delivery.service';
import { FlowdockSourceService } from '../flowdock/flowdock-sources.service';
import { ThreadSnapshot } from '../flowdock/thread-snapshot';
import { ThreadMessage } from './github-event.types';
import { GhUser } from './github-payload.types';
import { rejection } from './subscription-matcher';
import { SubscriptionService } from './subscription.service';

export interface ThreadChange {
  /** `event.action`, for subscription filters. */
  kind: string;
  sender: GhUser;
  snapshot: ThreadSnapshot;
  /** null: the thread changed without news (its next message carries the new state). */
  message: ThreadMessage | null;
}

/**
 * Hands a thread change to Flowdock's outbox, in the caller's transaction, for
 * every subscribed flow (source) that wants it; the default flow
 * (FLOWDOCK_FLOW_TOKEN) only when no subscription names the repository. Two
 * subscriptions to the same flow give one message.
 */
@Injectable()
export class ThreadOutbox {
  private readonly defaultFlowToken: string | undefined;
  private defaultId: string | undefined;

  constructor(
    private readonly subscriptions: SubscriptionService,
    private readonly sources: FlowdockSourceService,
    private readonly delivery: FlowdockDeliveryService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.defaultFlowToken = config.get('flowdock', { infer: true }).flowToken;
  }

  /** Returns how many flows were given the change (0: nobody subscribed, or all filtered out). */
  async enqueue(manager: EntityManager, change: ThreadChange): Promise<number> {
    const sourceIds = await this.route(manager, change);
    for (const sourceId of sourceIds) {
      if (change.message) {
        await this.delivery.publish(manager, {
          sourceId,
          event: change.message.event,
          author: change.message.author,
          title: change.message.title,
          ...(change.message.body ? { body: change.message.body } : {}),
          snapshot: change.snapshot,
        });
      } else {
        await this.delivery.updateSnapshot(manager, { sourceId, snapshot: change.snapshot });
      }
    }
    return sourceIds.length;
  }

  /**
   * The source of FLOWDOCK_FLOW_TOKEN, looked up in the caller's transaction:
   * with the embedded database a query on another connection would wait for it.
   */
  private async defaultSourceId(manager: EntityManager): Promise<string | undefined> {
    if (!this.defaultFlowToken) return undefined;
    this.defaultId ??= (
      await this.sources.register(
        { flowToken: this.defaultFlowToken, name: 'FLOWDOCK_FLOW_TOKEN' },
        manager,
      )
    ).id;
    return this.defaultId;
  }

  private async route(manager: EntityManager, change: ThreadChange): Promise<string[]> {
    const { repository, labels } = change.snapshot;
    const subscriptions = await this.subscriptions.forRepository(repository, manager);
    if (subscriptions.length === 0) {
      const fallback = await this.defaultSourceId(manager);
      return fallback ? [fallback] : [];
    }
    const facts = { repository, kind: change.kind, sender: change.sender, labels };
    const ids = subscriptions.filter((s) => !rejection(s, facts)).map((s) => s.sourceId);
    return [...new Set(ids)];
  }
}
