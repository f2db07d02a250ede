import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { DraftRule } from './subscription-matcher';

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

  /** None of these labels: an item carrying any of them is not announced. */
  @Column({ name: 'exclude_labels', type: 'text', array: true, default: '{}' })
  excludeLabels: string[];

  /** Logins or globs (`dependabot*`, `*[bot]`): events they send and items they authored are not announced. */
  @Column({ name: 'exclude_users', type: 'text', array: true, default: '{}' })
  excludeUsers: string[];

  /** Draft pull requests: `announce`, or `when-ready` (silent until marked ready for review). */
  @Column({ name: 'drafts', type: 'text', default: 'when-ready' })
  drafts: DraftRule;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
