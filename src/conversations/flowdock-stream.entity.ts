import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One flow the bridge listens to: which replica holds its stream (a lease
 * renewed while it listens; another takes over once it expires) and the id of
 * the last event handled (`Last-Event-ID` of the next connection, also after
 * a restart).
 */
@Entity('flowdock_stream')
export class FlowdockStreamEntity {
  /** The flow as its sources name it ("organization/flow"). */
  @PrimaryColumn({ type: 'text' })
  flow: string;

  @Column({ name: 'last_event_id', type: 'text', nullable: true })
  lastEventId: string | null;

  @Column({ name: 'lease_owner', type: 'text', nullable: true })
  leaseOwner: string | null;

  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
