import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { ThreadSnapshot } from '../threads/thread-snapshot';

/** The newest snapshot of one thread (per source and external_thread_id), and its delivery lease. */
@Entity('flowdock_thread')
export class FlowdockThreadEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'source_id', type: 'uuid' })
  sourceId: string;

  @Column({ name: 'external_thread_id', type: 'text' })
  externalThreadId: string;

  @Column({ type: 'jsonb' })
  snapshot: ThreadSnapshot;

  /** Flowdock's own id of the thread (`thread_id`), learnt from the answer to its first post. */
  @Column({ name: 'flowdock_thread_id', type: 'text', nullable: true })
  flowdockThreadId: string | null;

  /** Incremented by every snapshot change. */
  @Column({ type: 'integer', default: 1 })
  version: number;

  /** The worker delivering this thread's messages, until lease_until (one at a time, in order). */
  @Column({ name: 'lease_owner', type: 'text', nullable: true })
  leaseOwner: string | null;

  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;

  /** When the oldest pending message may be sent; null when nothing is pending. */
  @Column({ name: 'due_at', type: 'timestamptz', nullable: true })
  dueAt: Date | null;
}
