import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Which repositories post to which flow, with optional filters. */
@Entity('github_subscription')
export class Subscription {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** `owner/repo` or `owner/*`, compared case-insensitively as GitHub does. */
  @Column({ name: 'repository_pattern', type: 'text' })
  repositoryPattern: string;

  /** The Flowdock source (FlowdockSourceService) holding the flow token, encrypted. */
  @Column({ name: 'source_id', type: 'uuid' })
  sourceId: string;

  /** Empty: every event. Entries are `event` or `event.action` (`pull_request`, `issues.opened`). */
  @Column({ name: 'event_kinds', type: 'text', array: true, default: '{}' })
  eventKinds: string[];

  @Column({ name: 'ignore_bots', type: 'boolean', default: false })
  ignoreBots: boolean;

  /** Empty: every item. Otherwise the item must carry each of these labels. */
  @Column({ name: 'required_labels', type: 'text', array: true, default: '{}' })
  requiredLabels: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
