import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { LinkedAccountService } from '../auth/linked-account.service';
import { ActionEchoes } from './action-echoes';
import { mapGitHubEvent } from './github-event.mapper';
import { isThreadKey, MappedEvent, ThreadKey, ThreadMessage } from './github-event.types';
import { GitHubThreadStore } from './github-thread.store';
import { ThreadOutbox } from './thread-outbox.service';
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
    private readonly outbox: ThreadOutbox,
    private readonly echoes: ActionEchoes,
    private readonly accounts: LinkedAccountService,
  ) {}

  async ingest(delivery: IncomingDelivery): Promise<IngestResult> {
    // Revoking first and idempotently: should recording fail, GitHub's retry revokes again.
    const revokedUser = this.revokedUserId(delivery);
    if (revokedUser !== null) await this.accounts.revokeByGitHubUserId(revokedUser);
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

  /** The GitHub user who revoked the app's authorization, for `github_app_authorization.revoked`. */
  private revokedUserId(delivery: IncomingDelivery): number | null {
    if (delivery.event !== 'github_app_authorization') return null;
    const payload = delivery.payload as { action?: unknown; sender?: { id?: unknown } };
    const id = payload.sender?.id;
    return payload.action === 'revoked' && typeof id === 'number' ? id : null;
  }

  private async process(
    manager: EntityManager,
    delivery: IncomingDelivery,
  ): Promise<{ outcome: DeliveryOutcome; messages: number }> {
    if (delivery.event === 'ping') return { outcome: 'ping', messages: 0 };
    if (this.revokedUserId(delivery) !== null)
      return { outcome: 'authorization-revoked', messages: 0 };
    const mapped = mapGitHubEvent(delivery.event, delivery.payload);
    if (!mapped) return { outcome: 'unhandled', messages: 0 };

    const key = await this.threadKey(manager, mapped);
    if (!key) return { outcome: 'state-only', messages: 0 };
    const previous = await this.threads.lock(manager, key);
    const applied = applyUpdate(previous, mapped.update);
    if (!applied.thread) return { outcome: 'state-only', messages: 0 };
    await this.threads.save(manager, key, applied.thread);

    const echo = await this.isEcho(manager, key, mapped);
    const message = echo ? null : this.messageFor(mapped, applied.thread, applied.ciChanged);
    const flows = await this.outbox.enqueue(manager, {
      kind: mapped.kind,
      sender: mapped.sender,
      snapshot: applied.thread.snapshot,
      message,
    });
    if (!message) return { outcome: 'state-only', messages: 0 };
    return { outcome: flows > 0 ? 'published' : 'dropped', messages: flows };
  }

  /** A webhook for an (un)assignment, close or reopen the bridge made itself and announced already. */
  private async isEcho(
    manager: EntityManager,
    key: ThreadKey,
    mapped: MappedEvent,
  ): Promise<boolean> {
    const [event, action] = mapped.kind.split('.');
    if (event !== 'pull_request' && event !== 'issues') return false;
    if (!['assigned', 'unassigned', 'closed', 'reopened'].includes(action)) return false;
    const subject = action.endsWith('assigned') ? (mapped.subject ?? null) : null;
    return this.echoes.consume(manager, key, { action, actor: mapped.sender.login, subject });
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
}
