import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ThreadKind, ThreadSnapshot } from './thread-snapshot';
import type { CiSignal } from './github-event.types';

/** The merged state of one pull request or issue (see thread-state.ts). */
@Entity('github_thread')
export class GitHubThread {
  @PrimaryColumn({ type: 'text' })
  repository: string;

  @PrimaryColumn({ type: 'text' })
  kind: ThreadKind;

  @PrimaryColumn({ type: 'integer' })
  number: number;

  @Column({ type: 'jsonb' })
  snapshot: ThreadSnapshot;

  @Column({ name: 'item_updated_at', type: 'timestamptz', nullable: true })
  itemUpdatedAt: Date | null;

  @Column({ type: 'jsonb', default: {} })
  ci: Record<string, CiSignal>;

  /** Pull requests: the head commit, to find the thread for check_suite and status events. */
  @Column({ name: 'head_sha', type: 'text', nullable: true })
  headSha: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
