import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { ThreadEvent } from '../threads/thread-rendering';

type MessageStatus = 'pending' | 'sent' | 'dead';

/**
 * The outbox: one row per message to post, written in the transaction of the
 * change that caused it. The thread object is not stored here: it is rendered
 * from the thread's newest snapshot when the message is sent.
 */
@Entity('flowdock_message')
export class FlowdockMessageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** Sent as the message's `uuid`, so a resend after a crash is recognisable. */
  @Column({ type: 'uuid', unique: true })
  uuid: string;

  @Column({ name: 'thread_id', type: 'bigint' })
  threadId: string;

  @Column({ type: 'jsonb' })
  event: ThreadEvent;

  @Column({ type: 'text', default: 'pending' })
  status: MessageStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'available_at', type: 'timestamptz' })
  availableAt: Date;

  /** Why the last attempt failed; for a dead message, why it was given up. */
  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @Column({ name: 'dead_at', type: 'timestamptz', nullable: true })
  deadAt: Date | null;
}
