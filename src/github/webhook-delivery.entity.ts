import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What became of a GitHub delivery:
 * - `published`: messages enqueued for at least one flow
 * - `unhandled`: an event or action the bridge does not show
 * - `dropped`: no subscription (and no default flow) for the repository, or all filtered out
 * - `state-only`: the thread changed without a message (CI unchanged, an echo of our own action)
 * - `ping`: GitHub's hello
 * - `authorization-revoked`: a user revoked the app; their links were removed
 */
export type DeliveryOutcome =
  'published' | 'unhandled' | 'dropped' | 'state-only' | 'ping' | 'authorization-revoked';

@Entity('github_webhook_delivery')
export class WebhookDelivery {
  @PrimaryColumn({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ type: 'text' })
  event: string;

  @Column({ type: 'text', nullable: true })
  action: string | null;

  @Column({ type: 'text', nullable: true })
  repository: string | null;

  @Column({ type: 'text' })
  outcome: DeliveryOutcome;

  @Column({ type: 'integer', default: 0 })
  messages: number;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;
}
