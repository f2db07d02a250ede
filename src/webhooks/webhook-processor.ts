import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LinkedAccountService } from '../auth/linked-account.service';
import { AppConfig } from '../config/app.config';
import { DatabaseNotifications } from '../database/database-notifications';
import { retryOnDeadlock } from '../database/deadlocks';
import { StormWatch } from '../database/pass-pacing';
import { pipelinedTransaction, SqlSession } from '../database/pipelined-transaction';
import { Metrics } from '../metrics/metrics';
import { ThreadSnapshot } from '../threads/thread-snapshot';
import { DeliveryWork } from './delivery-intake';
import { isThreadKey, MappedEvent, ThreadKey } from '../threads/github-event.types';
import {
  Echo,
  GitHubThreadStore,
  threadKeyId,
  threadLockKey,
} from '../threads/github-thread.store';
import { ChangeResult, ThreadChange, ThreadChanges } from '../threads/thread-changes';
import { DeliveryLogEntry, logDelivery } from './delivery-outcome';

/** Threads per batch (one transaction). */
const THREADS_PER_BATCH = 100;
/** Pending deliveries looked at to choose a batch's threads. */
const CANDIDATE_WINDOW = 1_000;
/** Deliveries per batch; a thread gets the oldest of its pending ones. */
const DELIVERIES_PER_BATCH = 100;
/** CI deliveries resolved to their threads per pass. */
const CI_PER_PASS = 500;
/** The safety net when a notification is lost. */
const POLL_MS = 5_000;
/** After a failed pass (database unreachable), before the next. */
const RETRY_MS = 1_000;
/** When every pending thread is held by another transaction. */
const BUSY_MS = 20;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

interface Outcome extends DeliveryLogEntry {
  messages: number;
  /** Seconds from stored to processed, once recorded (the database's clock for both). */
  lagSeconds?: number;
}

/** A pending delivery of a locked thread. */
interface Pending {
  deliveryId: string;
  event: string;
  key: ThreadKey;
  work: DeliveryWork | null;
}

/** SQLSTATE classes of errors a retry cannot mend: data exceptions, integrity violations. */
const isPoison = (error: unknown) => /^(22|23)/.test(String((error as { code?: unknown }).code));

/** The webhook actions that repeat a change the bridge may have made itself. */
const ECHOING = ['assigned', 'unassigned', 'closed', 'reopened'];

function echoOf(event: MappedEvent): Echo | undefined {
  const [name, action] = event.kind.split('.');
  // The bridge's Approve: GitHub's review webhook repeats it.
  if (name === 'pull_request_review' && action === 'submitted') {
    return event.update.type === 'review' && event.update.state === 'approved'
      ? { action: 'approved', actor: event.sender.login, subject: null }
      : undefined;
  }
  // A Flowdock reply the bridge posted as a comment: its webhook repeats the reply (by comment id).
  if (name === 'issue_comment' && action === 'created') {
    return event.subject
      ? { action: 'commented', actor: event.sender.login, subject: event.subject }
      : undefined;
  }
  if ((name !== 'pull_request' && name !== 'issues') || !ECHOING.includes(action)) return undefined;
  return {
    action,
    actor: event.sender.login,
    subject: action.endsWith('assigned') ? (event.subject ?? null) : null,
  };
}

function changeOf(event: MappedEvent): ThreadChange {
  const echo = echoOf(event);
  const { update } = event;
  return {
    kind: event.kind,
    sender: event.sender,
    update,
    message: event.message,
    ...(echo ? { echo } : {}),
    // Approving again shows nothing new: the thread already has that verdict.
    ...(update.type === 'review' && update.state === 'approved'
      ? {
          announceIf: (before: ThreadSnapshot | null) =>
            !before?.reviewers.some((r) => r.login === update.reviewer && r.state === 'approved'),
        }
      : {}),
  };
}

/**
 * Drains the inbox the webhook requests fill. Each batch takes the threads of
 * the oldest pending deliveries that no other process is working on (a
 * transaction-scoped lock per thread, the one actions take too), applies all
 * of their pending deliveries in arrival order through ThreadChanges, and
 * records every delivery's outcome — in one transaction, so a delivery is
 * processed exactly once across replicas. A CI delivery is first resolved to
 * the thread whose head is its commit, once every earlier delivery of its
 * repository has been applied (a push must move the head first).
 *
 * Woken at once when this process stores a delivery, by NOTIFY when another
 * does, and every few seconds as a safety net. Processed rows lose their work
 * and are pruned after DELIVERY_RETENTION_DAYS.
 */
@Injectable()
export class WebhookProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookProcessor');
  private readonly retentionDays: number;
  private running: Promise<void> | undefined;
  private wanted = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private failing = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly changes: ThreadChanges,
    private readonly store: GitHubThreadStore,
    private readonly accounts: LinkedAccountService,
    private readonly notifications: DatabaseNotifications,
    private readonly metrics: Metrics,
    private readonly storm: StormWatch,
    config: ConfigService<AppConfig, true>,
  ) {
    this.retentionDays = config.get('github', { infer: true }).deliveryRetentionDays;
  }

  onApplicationBootstrap(): void {
    this.notifications.on('github_inbox', () => this.wake());
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Processes what is pending now, and again if more arrives meanwhile. */
  wake(): void {
    this.wanted = true;
    if (this.running || this.stopped) return;
    clearTimeout(this.timer);
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.wanted) this.wake();
    });
  }

  private async drain(): Promise<void> {
    let delay = POLL_MS;
    let passStarted = 0;
    while (!this.stopped) {
      const interval = this.storm.interval();
      const sinceLastPass = performance.now() - passStarted;
      if (passStarted > 0 && sinceLastPass < interval) {
        await new Promise((resolve) => setTimeout(resolve, interval - sinceLastPass));
        if (this.stopped) break;
      }
      passStarted = performance.now();
      this.wanted = false;
      let progress: { done: number; busy: boolean };
      try {
        progress = await this.pass();
        await this.pruneNowAndThen();
        if (this.failing) this.logger.log('Processing webhook deliveries again');
        this.failing = false;
      } catch (error) {
        // Once per outage, not every second of it.
        if (!this.failing) {
          this.logger.error(
            `Processing webhook deliveries failed (retrying every ${RETRY_MS} ms): ${(error as Error).message}`,
          );
        }
        this.failing = true;
        delay = RETRY_MS;
        break;
      }
      if (progress.done > 0 || this.wanted) continue;
      if (progress.busy) delay = BUSY_MS;
      break;
    }
    if (!this.stopped) this.schedule(delay);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<{ done: number; busy: boolean }> {
    const threads = await this.processThreads();
    const loose = threads.loose ? await this.processLoose() : 0;
    return { done: threads.done + loose, busy: threads.busy };
  }

  /**
   * One batch of threads. `busy`: pending threads were all held elsewhere;
   * `loose`: deliveries without a thread wait (checked in the same statement).
   */
  private async processThreads(
    only?: ThreadKey[],
  ): Promise<{ done: number; busy: boolean; loose: boolean }> {
    let outcomes: Outcome[] = [];
    let batch = { locked: [] as ThreadKey[], candidates: 0, loose: false };
    try {
      // A batch's upsert of Flowdock threads can deadlock with the delivery worker's marks.
      // Six round trips: BEGIN with the choice of threads, their pending deliveries, their
      // stored state, their subscriptions, the writes with the outcomes, COMMIT.
      await retryOnDeadlock(() =>
        pipelinedTransaction(this.dataSource, async (manager) => {
          // A retry starts over: nothing of a rolled-back attempt is reported.
          outcomes = [];
          // Processed rows leave dead entries in the pending indexes until a vacuum. A plain
          // index scan marks each dead entry once and skips it afterwards; a bitmap scan (which
          // the planner picks from stale statistics) visits them all on every pass.
          await manager.defer(`SET LOCAL enable_bitmapscan = off`);
          if (only) {
            batch.locked = await this.changes.lock(manager, only, false);
          } else {
            batch = await this.lockCandidates(manager);
          }
          if (batch.locked.length === 0) return;
          const pending = await this.pendingOf(manager, batch.locked);
          outcomes = await this.apply(manager, pending);
          await this.record(manager, outcomes);
        }),
      );
    } catch (error) {
      if (!isPoison(error)) throw error;
      // One thread's data broke the batch: find it by taking the threads one by one.
      if (only?.length === 1) {
        await this.failThread(only[0], error as Error);
        return { done: 1, busy: false, loose: false };
      }
      let done = 0;
      for (const key of only ?? batch.locked) done += (await this.processThreads([key])).done;
      return { done, busy: false, loose: batch.loose };
    }
    this.report(outcomes);
    return {
      done: outcomes.length,
      busy: batch.candidates > 0 && outcomes.length === 0,
      loose: batch.loose,
    };
  }

  /**
   * Locks the threads of the oldest pending deliveries that no other
   * transaction holds, and says whether deliveries without a thread wait.
   */
  private async lockCandidates(
    manager: SqlSession,
  ): Promise<{ locked: ThreadKey[]; candidates: number; loose: boolean }> {
    const [row] = await manager.query<
      { locked: ThreadKey[]; candidates: number; loose: boolean }[]
    >(
      `WITH c AS (
         SELECT repository, item_kind AS kind, item_number AS number
         FROM (SELECT repository, item_kind, item_number, seq FROM github_webhook_delivery
               WHERE processed_at IS NULL AND item_number IS NOT NULL
               ORDER BY seq LIMIT $1) p
         GROUP BY 1, 2, 3 ORDER BY min(seq) LIMIT $2),
       l AS (SELECT repository, kind, number FROM c WHERE pg_try_advisory_xact_lock(${threadLockKey('c')}))
       SELECT (SELECT coalesce(json_agg(l), '[]') FROM l) AS locked,
              (SELECT count(*) FROM c)::int AS candidates,
              EXISTS (SELECT 1 FROM github_webhook_delivery
                      WHERE processed_at IS NULL AND item_number IS NULL) AS loose`,
      [CANDIDATE_WINDOW, THREADS_PER_BATCH],
    );
    return row;
  }

  /** Pending deliveries of locked threads, oldest first (read after locking: nobody else can take them). */
  private async pendingOf(manager: SqlSession, keys: ThreadKey[]): Promise<Pending[]> {
    const rows = await manager.query<
      (ThreadKey & { deliveryId: string; event: string; work: string | null })[]
    >(
      `SELECT d.delivery_id AS "deliveryId", d.event, d.work, d.repository,
              d.item_kind AS kind, d.item_number AS number
       FROM github_webhook_delivery d
       JOIN jsonb_to_recordset($1::jsonb) AS k(repository text, kind text, number int)
         ON d.repository = k.repository AND d.item_kind = k.kind AND d.item_number = k.number
       WHERE d.processed_at IS NULL
       ORDER BY d.seq LIMIT $2`,
      [JSON.stringify(keys), DELIVERIES_PER_BATCH],
    );
    return rows.map(({ repository, kind, number, work, deliveryId, event }) => ({
      deliveryId,
      event,
      key: { repository, kind, number },
      work: work === null ? null : (JSON.parse(work) as DeliveryWork),
    }));
  }

  private async apply(manager: SqlSession, pending: Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const batch = new Map<
      string,
      { key: ThreadKey; changes: ThreadChange[]; ids: { deliveryId: string; event: string }[] }
    >();
    for (const p of pending) {
      if (p.work?.type !== 'thread' && p.work?.type !== 'ci') {
        const { deliveryId, event } = p;
        outcomes.push({
          deliveryId,
          event,
          outcome: 'failed',
          reason: 'nothing to apply',
          messages: 0,
        });
        continue;
      }
      const id = threadKeyId(p.key);
      let entry = batch.get(id);
      if (!entry) batch.set(id, (entry = { key: p.key, changes: [], ids: [] }));
      entry.changes.push(changeOf(p.work.event));
      entry.ids.push({ deliveryId: p.deliveryId, event: p.event });
    }
    const applied = await this.changes.apply(manager, [...batch.values()]);
    [...batch.values()].forEach((entry, i) => {
      entry.ids.forEach((p, j) => {
        const result: ChangeResult = applied[i].results[j];
        outcomes.push({ deliveryId: p.deliveryId, event: p.event, ...result, item: entry.key });
      });
    });
    return outcomes;
  }

  /**
   * Deliveries without a thread yet: revocations, and CI signals whose
   * repository has no earlier delivery pending. A CI signal gets the thread
   * whose head is its commit (it is then applied with that thread's
   * deliveries) or, when none shows that commit, its outcome.
   */
  private async processLoose(): Promise<number> {
    const outcomes: Outcome[] = [];
    let resolved = 0;
    await this.dataSource.transaction(async (manager) => {
      const rows: { deliveryId: string; event: string; work: string }[] = await manager.query(
        `SELECT d.delivery_id AS "deliveryId", d.event, d.work FROM github_webhook_delivery d
         WHERE d.processed_at IS NULL AND d.item_number IS NULL
           AND NOT EXISTS (SELECT 1 FROM github_webhook_delivery e
             WHERE e.processed_at IS NULL AND e.repository = d.repository
               AND e.item_number IS NOT NULL AND e.seq < d.seq)
         ORDER BY d.seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [CI_PER_PASS],
      );
      if (rows.length === 0) return;
      const items: { deliveryId: string; key: ThreadKey }[] = [];
      const ci: { deliveryId: string; event: string; target: MappedEvent['target'] }[] = [];
      for (const row of rows) {
        const work = JSON.parse(row.work ?? 'null') as DeliveryWork | null;
        if (work?.type === 'revoke') {
          await this.accounts.revokeByGitHubUserId(work.githubUserId);
          outcomes.push({ ...row, outcome: 'authorization-revoked', reason: null, messages: 0 });
        } else if (work?.type === 'ci' && !isThreadKey(work.event.target)) {
          ci.push({ ...row, target: work.event.target });
        } else {
          outcomes.push({ ...row, outcome: 'failed', reason: 'nothing to apply', messages: 0 });
        }
      }
      const heads = await this.store.byHeadSha(
        manager,
        ci.map((c) => ({
          repository: c.target.repository,
          sha: (c.target as { headSha: string }).headSha,
        })),
      );
      for (const c of ci) {
        const target = c.target as { repository: string; headSha: string; numbers: number[] };
        const key = heads.find(
          (h) =>
            h.repository === target.repository &&
            h.headSha === target.headSha &&
            (target.numbers.length === 0 || target.numbers.includes(h.number)),
        );
        if (key) {
          items.push({ deliveryId: c.deliveryId, key });
        } else {
          outcomes.push({
            deliveryId: c.deliveryId,
            event: c.event,
            outcome: 'state-only',
            reason: `no thread shows commit ${target.headSha}`,
            messages: 0,
          });
        }
      }
      if (items.length > 0) {
        await manager.query(
          `UPDATE github_webhook_delivery d SET item_kind = i.kind, item_number = i.number
           FROM jsonb_to_recordset($1::jsonb) AS i(delivery_id text, kind text, number int)
           WHERE d.delivery_id = i.delivery_id`,
          [
            JSON.stringify(
              items.map((i) => ({
                delivery_id: i.deliveryId,
                kind: i.key.kind,
                number: i.key.number,
              })),
            ),
          ],
        );
      }
      resolved = items.length;
      await this.record(manager, outcomes);
    });
    this.report(outcomes);
    return outcomes.length + resolved;
  }

  /** Marks deliveries processed with their outcomes, drops their work, and notes each one's lag. */
  private async record(manager: SqlSession, outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const rows = await manager.query<{ delivery_id: string; lag: number }[]>(
      `WITH recorded AS (
         UPDATE github_webhook_delivery d
         SET outcome = o.outcome, reason = o.reason, messages = o.messages, work = NULL,
             processed_at = clock_timestamp()
         FROM jsonb_to_recordset($1::jsonb) AS o(delivery_id text, outcome text, reason text, messages int)
         WHERE d.delivery_id = o.delivery_id AND d.processed_at IS NULL
         RETURNING d.delivery_id, extract(epoch FROM d.processed_at - d.received_at)::float8 AS lag)
       SELECT delivery_id, lag FROM recorded`,
      [
        JSON.stringify(
          outcomes.map((o) => ({
            delivery_id: o.deliveryId,
            outcome: o.outcome,
            reason: o.reason,
            messages: o.messages,
          })),
        ),
      ],
    );
    const lags = new Map(rows.map((r) => [r.delivery_id, r.lag]));
    for (const outcome of outcomes) outcome.lagSeconds = lags.get(outcome.deliveryId);
  }

  /** A thread whose deliveries the database refuses: they fail (once, logged), the others go on. */
  private async failThread(key: ThreadKey, error: Error): Promise<void> {
    const reason = `the database refused the change: ${error.message}`;
    const outcomes: Outcome[] = await this.dataSource.transaction(async (manager) => {
      await this.changes.lock(manager, [key], true);
      const pending = await this.pendingOf(manager, [key]);
      const failed = pending.map(({ deliveryId, event }) => ({
        deliveryId,
        event,
        outcome: 'failed' as const,
        reason,
        messages: 0,
        item: key,
      }));
      await this.record(manager, failed);
      return failed;
    });
    this.report(outcomes);
  }

  /** After the commit: each outcome's log line and metrics. */
  private report(outcomes: Outcome[]): void {
    for (const outcome of outcomes) {
      logDelivery(this.logger, this.metrics, outcome);
      if (outcome.lagSeconds !== undefined) this.metrics.webhookProcessed(outcome.lagSeconds);
    }
    if (outcomes.some((o) => o.messages > 0)) this.notifications.notify('flowdock_outbox');
  }

  private async pruneNowAndThen(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const [, removed]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM github_webhook_delivery
       WHERE processed_at < now() - make_interval(days => $1)`,
      [this.retentionDays],
    );
    await this.store.pruneEchoes(this.dataSource.manager);
    if (removed > 0)
      this.logger.log(`Pruned ${removed} delivery log rows older than ${this.retentionDays} days`);
  }
}
