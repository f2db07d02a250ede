import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ThreadKey } from './github-event.types';
import { GitHubThread } from './github-thread.entity';
import { StoredThread } from './thread-state';

/**
 * Reads and writes the merged state of threads inside the caller's
 * transaction. lock() serialises writers of one thread (also before the row
 * exists) with a transaction-scoped advisory lock, so two deliveries for a new
 * pull request cannot both start from nothing.
 */
@Injectable()
export class GitHubThreadStore {
  async lock(manager: EntityManager, key: ThreadKey): Promise<StoredThread | null> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
      `github_thread:${key.repository.toLowerCase()}:${key.kind}:${key.number}`,
    ]);
    const row = await manager.findOneBy(GitHubThread, {
      repository: key.repository,
      kind: key.kind,
      number: key.number,
    });
    return row
      ? {
          snapshot: row.snapshot,
          itemUpdatedAt: row.itemUpdatedAt?.toISOString() ?? null,
          ci: row.ci,
        }
      : null;
  }

  /** Threads of a repository whose head is this commit (newest first). */
  async keysByHeadSha(
    manager: EntityManager,
    repository: string,
    sha: string,
  ): Promise<ThreadKey[]> {
    const rows = await manager.find(GitHubThread, {
      select: { repository: true, kind: true, number: true },
      where: { repository, headSha: sha },
      order: { updatedAt: 'DESC' },
    });
    return rows.map(({ repository: r, kind, number }) => ({ repository: r, kind, number }));
  }

  async find(manager: EntityManager, key: ThreadKey): Promise<StoredThread | null> {
    const row = await manager.findOneBy(GitHubThread, { ...key });
    return row
      ? {
          snapshot: row.snapshot,
          itemUpdatedAt: row.itemUpdatedAt?.toISOString() ?? null,
          ci: row.ci,
        }
      : null;
  }

  async save(manager: EntityManager, key: ThreadKey, thread: StoredThread): Promise<void> {
    await manager.upsert(
      GitHubThread,
      {
        ...key,
        snapshot: thread.snapshot,
        itemUpdatedAt: thread.itemUpdatedAt ? new Date(thread.itemUpdatedAt) : null,
        ci: thread.ci,
        headSha: thread.snapshot.headSha ?? null,
        updatedAt: new Date(),
      },
      ['repository', 'kind', 'number'],
    );
  }
}
