import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What became of a GitHub delivery:
 * - `published`: messages enqueued for at least one flow
 * - `dropped`: nobody gets it; `reason` names the rule (no subscription, event
 *   filter, bot filter, label filter)
 * - `state-only`: the thread changed without a message (CI unchanged, an echo
 *   of the bridge's own action, CI for a commit no thread shows)
 * - `unhandled`: an event or action the bridge does not show
 * - `failed`: the payload could not be applied; `reason` says why
 * - `ping`: GitHub's hello
 * - `authorization-revoked`: a user revoked the app; their links were removed
 */
export type DeliveryOutcome =
  | 'published'
  | 'dropped'
  | 'state-only'
  | 'unhandled'
  | 'failed'
  | 'ping'
  | 'authorization-revoked';

/**
 * A GitHub delivery: the inbox row while it waits (`processedAt` null, the
 * work to do in `work`), then its log entry until the retention removes it.
 */
@Entity('github_webhook_delivery')
export class WebhookDelivery {
  @PrimaryColumn({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  /** Arrival order. */
  @Column({ type: 'bigint', insert: false, update: false })
  seq: string;

  @Column({ type: 'text' })
  event: string;

  @Column({ type: 'text', nullable: true })
  action: string | null;

  @Column({ type: 'text', nullable: true })
  repository: string | null;

  /** The payload's `sender.login`, for the delivery log pages. */
  @Column({ type: 'text', nullable: true })
  sender: string | null;

  @Column({ name: 'item_kind', type: 'text', nullable: true })
  itemKind: 'pull' | 'issue' | null;

  @Column({ name: 'item_number', type: 'integer', nullable: true })
  itemNumber: number | null;

  /** JSON of the DeliveryWork; cleared once processed. */
  @Column({ type: 'text', nullable: true })
  work: string | null;

  /** null while pending. */
  @Column({ type: 'text', nullable: true })
  outcome: DeliveryOutcome | null;

  /** Why a delivery was dropped or failed. */
  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'integer', default: 0 })
  messages: number;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @Column({ name: 'processed_at', type: 'timestamptz', nullable: true })
  processedAt: Date | null;
}
