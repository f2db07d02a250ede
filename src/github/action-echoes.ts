import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ThreadKey } from './github-event.types';

/** GitHub's webhook for a change arrives within seconds; after this it is news again. */
const ECHO_TTL_SECONDS = 600;

export interface EchoFacts {
  /** The webhook action: assigned, unassigned, closed, reopened. */
  action: string;
  /** The GitHub login that made the change. */
  actor: string;
  /** The assignee, for (un)assignment. */
  subject?: string | null;
}

/**
 * Changes the bridge made as a user and already announced in the thread. The
 * webhook GitHub sends afterwards for the same change consumes its echo: the
 * thread is updated from it, but no second activity is posted.
 */
@Injectable()
export class ActionEchoes {
  async expect(manager: EntityManager, key: ThreadKey, facts: EchoFacts): Promise<void> {
    await manager.query(
      `INSERT INTO github_action_echo (repository, kind, number, action, actor, subject, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
      [
        key.repository,
        key.kind,
        key.number,
        facts.action,
        facts.actor,
        facts.subject ?? null,
        ECHO_TTL_SECONDS,
      ],
    );
  }

  /** True (and the echo is used up) when this webhook repeats a change the bridge made. */
  async consume(manager: EntityManager, key: ThreadKey, facts: EchoFacts): Promise<boolean> {
    await manager.query(`DELETE FROM github_action_echo WHERE expires_at < now()`);
    // A SELECT over the deleted rows: TypeORM answers a bare DELETE with [rows, count].
    const rows: unknown[] = await manager.query(
      `WITH used AS (DELETE FROM github_action_echo WHERE id = (
         SELECT id FROM github_action_echo
         WHERE repository = $1 AND kind = $2 AND number = $3 AND action = $4 AND actor = $5
           AND subject IS NOT DISTINCT FROM $6
         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id) SELECT id FROM used`,
      [key.repository, key.kind, key.number, facts.action, facts.actor, facts.subject ?? null],
    );
    return rows.length > 0;
  }
}
