import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { runLater, SqlSession } from '../database/pipelined-transaction';
import { ThreadKey } from './github-event.types';
import { StoredThread } from './thread-state';

/** GitHub's webhook for a change the bridge made arrives within seconds; after this it is news again. */
const ECHO_TTL_SECONDS = 600;

/** A change the bridge made as a user and announced already; GitHub's webhook for it is its echo. */
export interface Echo {
  /** The webhook action: assigned, unassigned, closed, reopened. */
  action: string;
  /** The GitHub login that made the change. */
  actor: string;
  /** The assignee, for (un)assignment. */
  subject: string | null;
}

export interface StoredEcho extends Echo {
  id: string;
  key: ThreadKey;
}

/** What a batch of thread changes writes. */
export interface ThreadWrites {
  threads: { key: ThreadKey; thread: StoredThread }[];
  usedEchoes: string[];
  newEchoes: { key: ThreadKey; echo: Echo }[];
}

/**
 * The advisory lock key of one thread (SQL over a row `alias` with repository,
 * kind, number), shared by everything that changes the thread.
 */
export const threadLockKey = (alias: string) =>
  `hashtext('github_thread:' || lower(${alias}.repository) || ':' || ${alias}.kind || ':' || ${alias}.number)`;
const LOCK_KEY = threadLockKey('k');
const KEYS = `jsonb_to_recordset($1::jsonb) AS k(repository text, kind text, number int)`;

export const threadKeyId = (key: ThreadKey) => `${key.repository}:${key.kind}:${key.number}`;

const keysJson = (keys: ThreadKey[]) =>
  JSON.stringify(keys.map(({ repository, kind, number }) => ({ repository, kind, number })));

/**
 * The SQL of thread changes, a batch of threads per statement, inside the
 * caller's transaction: the per-thread lock, the merged state of each pull
 * request and issue (`github_thread`), and the echoes of the bridge's own actions.
 */
@Injectable()
export class GitHubThreadStore {
  /**
   * Locks threads until the transaction ends (also before their rows exist,
   * so two changes of a new thread cannot both start from nothing). With
   * `wait` false, skips threads another transaction holds and returns the ones locked.
   */
  async lock(manager: SqlSession, keys: ThreadKey[], wait: boolean): Promise<ThreadKey[]> {
    if (keys.length === 0) return [];
    if (wait) {
      // One order for every waiter (the input's, sorted), so two batches cannot deadlock.
      const sorted = [...keys].sort((a, b) => threadKeyId(a).localeCompare(threadKeyId(b)));
      await runLater(manager, `SELECT pg_advisory_xact_lock(${LOCK_KEY}) FROM ${KEYS}`, [
        keysJson(sorted),
      ]);
      return keys;
    }
    const rows = await manager.query<ThreadKey[]>(
      `SELECT k.repository, k.kind, k.number FROM ${KEYS} WHERE pg_try_advisory_xact_lock(${LOCK_KEY})`,
      [keysJson(keys)],
    );
    return rows;
  }

  /** The stored state of locked threads and, when asked, their unexpired echoes (oldest first). */
  async load(
    manager: SqlSession,
    keys: ThreadKey[],
    withEchoes: boolean,
  ): Promise<{ threads: Map<string, StoredThread>; echoes: StoredEcho[] }> {
    const [row] = await manager.query<{ threads: ThreadRow[]; echoes: EchoRow[] }[]>(
      `SELECT
         (SELECT coalesce(json_agg(json_build_object('repository', t.repository, 'kind', t.kind,
                   'number', t.number, 'snapshot', t.snapshot, 'itemUpdatedAt', t.item_updated_at, 'ci', t.ci)), '[]')
          FROM github_thread t JOIN ${KEYS} USING (repository, kind, number)) AS threads,
         (SELECT coalesce(json_agg(e ORDER BY e.id), '[]')
          FROM github_action_echo e JOIN ${KEYS} USING (repository, kind, number)
          WHERE $2 AND e.expires_at > now()) AS echoes`,
      [keysJson(keys), withEchoes],
    );
    const threads = new Map<string, StoredThread>();
    for (const t of row.threads) {
      threads.set(threadKeyId(t), {
        snapshot: t.snapshot,
        itemUpdatedAt: t.itemUpdatedAt,
        ci: t.ci,
      });
    }
    const echoes = row.echoes.map((e) => ({
      id: String(e.id),
      key: { repository: e.repository, kind: e.kind, number: e.number },
      action: e.action,
      actor: e.actor,
      subject: e.subject,
    }));
    return { threads, echoes };
  }

  /** Saves merged threads and spends or records echoes, in one statement. */
  async save(manager: SqlSession, writes: ThreadWrites): Promise<void> {
    if (writes.threads.length + writes.usedEchoes.length + writes.newEchoes.length === 0) return;
    await runLater(
      manager,
      `WITH threads AS (
         INSERT INTO github_thread (repository, kind, number, snapshot, item_updated_at, ci, head_sha, updated_at)
         SELECT repository, kind, number, snapshot, item_updated_at, ci, snapshot->>'headSha', clock_timestamp()
         FROM jsonb_to_recordset($1::jsonb)
           AS t(repository text, kind text, number int, snapshot jsonb, item_updated_at timestamptz, ci jsonb)
         ON CONFLICT (repository, kind, number) DO UPDATE SET
           snapshot = EXCLUDED.snapshot, item_updated_at = EXCLUDED.item_updated_at, ci = EXCLUDED.ci,
           head_sha = EXCLUDED.head_sha, updated_at = EXCLUDED.updated_at),
       used AS (DELETE FROM github_action_echo WHERE id = ANY($2::bigint[]))
       INSERT INTO github_action_echo (repository, kind, number, action, actor, subject, expires_at)
       SELECT repository, kind, number, action, actor, subject, now() + make_interval(secs => $4)
       FROM jsonb_to_recordset($3::jsonb)
         AS e(repository text, kind text, number int, action text, actor text, subject text)`,
      [
        JSON.stringify(
          writes.threads.map(({ key, thread }) => ({
            ...key,
            snapshot: thread.snapshot,
            item_updated_at: thread.itemUpdatedAt,
            ci: thread.ci,
          })),
        ),
        writes.usedEchoes,
        JSON.stringify(writes.newEchoes.map(({ key, echo }) => ({ ...key, ...echo }))),
        ECHO_TTL_SECONDS,
      ],
    );
  }

  /** Threads of a repository whose head is one of these commits, newest first. */
  async byHeadSha(
    manager: EntityManager,
    heads: { repository: string; sha: string }[],
  ): Promise<(ThreadKey & { headSha: string })[]> {
    if (heads.length === 0) return [];
    return manager.query(
      `SELECT t.repository, t.kind, t.number, t.head_sha AS "headSha"
       FROM github_thread t JOIN jsonb_to_recordset($1::jsonb) AS h(repository text, sha text)
         ON t.repository = h.repository AND t.head_sha = h.sha
       ORDER BY t.updated_at DESC`,
      [JSON.stringify(heads)],
    );
  }

  /** Removes echoes no webhook came for. */
  async pruneEchoes(manager: EntityManager): Promise<void> {
    await manager.query(`DELETE FROM github_action_echo WHERE expires_at < now()`);
  }
}

interface ThreadRow extends ThreadKey {
  snapshot: StoredThread['snapshot'];
  itemUpdatedAt: string | null;
  ci: StoredThread['ci'];
}

interface EchoRow extends ThreadKey {
  id: number | string;
  action: string;
  actor: string;
  subject: string | null;
}
