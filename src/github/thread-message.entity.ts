import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { ThreadKind } from '../flowdock/thread-snapshot';
import type { ThreadMessage as Message } from './github-event.types';

/**
 * A message enqueued for one flow in the same transaction that recorded its
 * delivery; it is sent with the thread's newest snapshot at sending time.
 */
@Entity('github_thread_message')
export class ThreadMessageRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'delivery_id', type: 'text', nullable: true })
  deliveryId: string | null;

  /** Null: the default flow (FLOWDOCK_FLOW_TOKEN). */
  @Column({ name: 'subscription_id', type: 'uuid', nullable: true })
  subscriptionId: string | null;

  @Column({ type: 'text' })
  repository: string;

  @Column({ type: 'text' })
  kind: ThreadKind;

  @Column({ type: 'integer' })
  number: number;

  @Column({ type: 'text' })
  event: Message['event'];

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'text', nullable: true })
  body: string | null;

  @Column({ type: 'jsonb' })
  author: Message['author'];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
