import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { LinkedAccountService } from '../auth/linked-account.service';
import { CLAIM_LIFETIME_SECONDS } from '../auth/claim.service';
import { FlowdockChallenges } from '../auth/flowdock-challenge';
import { FlowdockClient } from '../flowdock/flowdock-client';
import { FlowdockRefusedError } from '../flowdock/flowdock-errors';
import { FlowdockSourceService } from '../flowdock/flowdock-source.service';
import { ThreadSnapshot } from '../threads/thread-snapshot';
import { Metrics } from '../metrics/metrics';
import { StreamEvent } from './flowdock-stream';
import { CommentRefusedError, CommentUnauthorizedError, ReplyComments } from './reply-comments';
import { BRIDGE_UUID_PREFIX, ThreadReply, threadReplyOf } from './thread-reply';

/** What became of a stream event. */
export type ReplyOutcome = 'ignored' | 'duplicate' | 'commented' | 'awaiting-link' | 'failed';

/** How long a reply waits for its author to link before it is dropped. */
const AWAITING_LINK_HOURS = 24;

interface BridgeThread {
  id: string;
  sourceId: string;
  snapshot: ThreadSnapshot;
}

const item = (s: Pick<ThreadSnapshot, 'repository' | 'number'>) => `${s.repository}#${s.number}`;

/**
 * Replies heard in the bridge's threads. A linked replier's reply becomes a
 * GitHub comment as them, text unchanged; an unlinked replier's waits, and
 * they get one notice in the thread with their link (a new one only once the
 * link has expired), after which it is posted (postAwaiting). Each reply is
 * recorded by its Flowdock message id in the transaction that acts on it, so
 * an event heard twice (a replay, another replica) acts once.
 */
@Injectable()
export class ThreadReplies {
  private readonly logger = new Logger('ThreadReplies');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly accounts: LinkedAccountService,
    private readonly comments: ReplyComments,
    private readonly challenges: FlowdockChallenges,
    private readonly sources: FlowdockSourceService,
    private readonly client: FlowdockClient,
    private readonly metrics: Metrics,
  ) {}

  /** Handles one event of `streamFlow`'s stream. Throws only what may pass (database, Flowdock, GitHub down). */
  async handle(streamFlow: string, event: StreamEvent): Promise<ReplyOutcome> {
    const outcome = await this.handleEvent(streamFlow, event);
    if (outcome !== 'ignored') {
      this.metrics.replyHandled(outcome === 'awaiting-link' ? 'awaiting_link' : outcome);
    }
    return outcome;
  }

  private async handleEvent(streamFlow: string, event: StreamEvent): Promise<ReplyOutcome> {
    let message: unknown;
    try {
      message = JSON.parse(event.data);
    } catch {
      return 'ignored';
    }
    const reply = threadReplyOf(message, streamFlow);
    if (!reply) return 'ignored';
    const thread = await this.bridgeThread(streamFlow, reply.threadId);
    if (!thread) return 'ignored';
    if (await this.known(reply)) return 'duplicate';
    const actor = await this.accounts.actingAs(reply.userId);
    if (actor) {
      // Replies written before they linked, not posted yet (GitHub was down then): theirs come first.
      await this.postAwaiting(reply.userId).catch((error: Error) =>
        this.logger.warn(
          `Posting earlier replies of Flowdock user ${reply.userId} failed: ${error.message}`,
        ),
      );
      try {
        const outcome = await this.dataSource.transaction(async (manager) => {
          if (!(await this.record(manager, reply, thread, 'commented'))) return 'duplicate';
          const commentId = await this.comments.post(
            manager,
            actor,
            thread.snapshot,
            reply.content,
          );
          await manager.query(
            `UPDATE flowdock_reply SET comment_id = $3 WHERE flow = $1 AND message_id = $2`,
            [reply.flow, reply.messageId, commentId],
          );
          return 'commented';
        });
        if (outcome === 'commented') {
          this.logger.log(
            `Posted the reply ${reply.messageId} of Flowdock user ${reply.userId} on ${item(thread.snapshot)} as @${actor.login}`,
          );
        }
        return outcome;
      } catch (error) {
        if (error instanceof CommentRefusedError) {
          await this.dataSource.transaction((m) =>
            this.record(m, reply, thread, 'failed', error.message),
          );
          this.logger.warn(`The reply ${reply.messageId} was not posted: ${error.message}`);
          // The replier hears why (best effort: the refusal is recorded either way).
          await this.tell(
            thread,
            reply,
            `Your reply was not posted to GitHub: ${error.message}.`,
          ).catch((e: Error) => this.logger.warn(`Telling the replier failed: ${e.message}`));
          return 'failed';
        }
        // A 401 removed the link: the replier is unlinked now, and gets the notice.
        if (!(error instanceof CommentUnauthorizedError)) throw error;
      }
    }
    return this.awaitLink(reply, thread);
  }

  /**
   * Posts the replies of a person who just linked (the end of the linking
   * flow), each once; those older than a day are dropped instead. Returns
   * what the linking page tells them.
   */
  async postAwaiting(flowdockUserId: string): Promise<string | undefined> {
    await this.dataSource.query(
      `UPDATE flowdock_reply SET outcome = 'expired', content = NULL, updated_at = now()
       WHERE flowdock_user_id = $1 AND outcome = 'awaiting-link'
         AND created_at < now() - make_interval(hours => $2)`,
      [flowdockUserId, AWAITING_LINK_HOURS],
    );
    const waiting: { flow: string; message_id: string }[] = await this.dataSource.query(
      `SELECT flow, message_id FROM flowdock_reply
       WHERE flowdock_user_id = $1 AND outcome = 'awaiting-link' ORDER BY created_at, message_id`,
      [flowdockUserId],
    );
    if (waiting.length === 0) return undefined;
    const actor = await this.accounts.actingAs(flowdockUserId);
    if (!actor) return undefined;
    const posted: string[] = [];
    const failed: string[] = [];
    for (const { flow, message_id: messageId } of waiting) {
      try {
        const done = await this.dataSource.transaction(async (manager) => {
          const [row]: { content: string; snapshot: ThreadSnapshot }[] = await manager.query(
            `SELECT r.content, t.snapshot FROM flowdock_reply r JOIN flowdock_thread t ON t.id = r.thread_id
             WHERE r.flow = $1 AND r.message_id = $2 AND r.outcome = 'awaiting-link'
             FOR UPDATE OF r SKIP LOCKED`,
            [flow, messageId],
          );
          if (!row) return undefined;
          const commentId = await this.comments.post(manager, actor, row.snapshot, row.content);
          await manager.query(
            `UPDATE flowdock_reply SET outcome = 'commented', comment_id = $3, content = NULL, updated_at = now()
             WHERE flow = $1 AND message_id = $2`,
            [flow, messageId, commentId],
          );
          return item(row.snapshot);
        });
        if (done) posted.push(done);
      } catch (error) {
        const reason =
          error instanceof CommentRefusedError
            ? error.message
            : 'GitHub could not be reached or failed';
        if (error instanceof CommentRefusedError) {
          await this.dataSource.query(
            `UPDATE flowdock_reply SET outcome = 'failed', reason = $3, content = NULL, updated_at = now()
             WHERE flow = $1 AND message_id = $2 AND outcome = 'awaiting-link'`,
            [flow, messageId, reason],
          );
        }
        this.logger.warn(
          `A reply of Flowdock user ${flowdockUserId} waiting for the link was not posted: ${(error as Error).message}`,
        );
        failed.push(reason);
      }
    }
    this.metrics.replyHandled('commented', posted.length);
    this.logger.log(
      `Posted ${posted.length} reply(ies) of Flowdock user ${flowdockUserId} written before linking`,
    );
    const parts = [
      ...(posted.length > 0
        ? [
            `Your ${posted.length === 1 ? 'reply' : `${posted.length} replies`} in Flowdock ${posted.length === 1 ? 'was' : 'were'} posted on GitHub as @${actor.login} (${[...new Set(posted)].join(', ')}).`,
          ]
        : []),
      ...failed.map((reason) => `A reply was not posted: ${reason}.`),
    ];
    return parts.join(' ') || undefined;
  }

  /**
   * Housekeeping: replies that waited too long for their author lose their
   * text; records older than `retentionDays` (DELIVERY_RETENTION_DAYS) and
   * notices whose link expired a day ago go. Returns how many rows went.
   */
  async prune(retentionDays: number): Promise<number> {
    await this.dataSource.query(
      `UPDATE flowdock_reply SET outcome = 'expired', content = NULL, updated_at = now()
       WHERE outcome = 'awaiting-link' AND created_at < now() - make_interval(hours => $1)`,
      [AWAITING_LINK_HOURS],
    );
    const [, replies]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM flowdock_reply WHERE updated_at < now() - make_interval(days => $1)`,
      [retentionDays],
    );
    const [, notices]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM flowdock_reply_notice WHERE link_expires_at < now() - interval '1 day'`,
    );
    return replies + notices;
  }

  /** Posts the bridge's chat message into the reply's thread, as the thread's source. */
  private async tell(
    thread: BridgeThread,
    reply: ThreadReply,
    content: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await this.client.postThreadChat(await this.sources.flowToken(thread.sourceId, manager), {
      threadId: reply.threadId,
      uuid: `${BRIDGE_UUID_PREFIX}${reply.flow}:${reply.messageId}`,
      content,
    });
  }

  /** The bridge's thread with this Flowdock thread id, in a source of the stream's flow. */
  private async bridgeThread(
    flow: string,
    flowdockThreadId: string,
  ): Promise<BridgeThread | undefined> {
    const [row]: { id: string; source_id: string; snapshot: ThreadSnapshot }[] =
      await this.dataSource.query(
        `SELECT t.id, t.source_id, t.snapshot FROM flowdock_thread t
         JOIN flowdock_source s ON s.id = t.source_id
         WHERE t.flowdock_thread_id = $1 AND s.flow = $2
         ORDER BY t.id LIMIT 1`,
        [flowdockThreadId, flow],
      );
    return row
      ? { id: String(row.id), sourceId: row.source_id, snapshot: row.snapshot }
      : undefined;
  }

  private async known(reply: ThreadReply): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM flowdock_reply WHERE flow = $1 AND message_id = $2`,
      [reply.flow, reply.messageId],
    );
    return rows.length > 0;
  }

  /**
   * Records the reply, in `manager`'s transaction; false when it was recorded
   * already (an insert of the same key by another transaction waits for it).
   */
  private async record(
    manager: EntityManager,
    reply: ThreadReply,
    thread: BridgeThread,
    outcome: 'commented' | 'awaiting-link' | 'failed',
    reason: string | null = null,
  ): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO flowdock_reply (flow, message_id, thread_id, flowdock_user_id, outcome, content, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (flow, message_id) DO NOTHING RETURNING 1`,
      [
        reply.flow,
        reply.messageId,
        thread.id,
        reply.userId,
        outcome,
        outcome === 'awaiting-link' ? reply.content : null,
        reason,
      ],
    );
    return rows.length > 0;
  }

  /**
   * The reply waits for its author to link. They get one notice per thread
   * (posted with the thread's flow token, in the same transaction: a failed
   * post leaves nothing recorded, and the event is handled again), and a new
   * one only once the link in the last has expired.
   */
  private async awaitLink(reply: ThreadReply, thread: BridgeThread): Promise<ReplyOutcome> {
    const notified = await this.dataSource.transaction(async (manager) => {
      if (!(await this.record(manager, reply, thread, 'awaiting-link'))) return undefined;
      const fresh: unknown[] = await manager.query(
        `INSERT INTO flowdock_reply_notice (thread_id, flowdock_user_id, link_expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (thread_id, flowdock_user_id) DO UPDATE
           SET posted_at = now(), link_expires_at = EXCLUDED.link_expires_at
           WHERE flowdock_reply_notice.link_expires_at < now()
         RETURNING 1`,
        [thread.id, reply.userId, CLAIM_LIFETIME_SECONDS],
      );
      if (fresh.length === 0) return false;
      const { challengeUrl } = await this.challenges.challenge(reply.userId);
      try {
        await this.tell(thread, reply, noticeText(thread.snapshot, challengeUrl), manager);
      } catch (error) {
        // Refused (the source removed: 410, a bad request): trying again will not help; the reply still waits.
        if (!(error instanceof FlowdockRefusedError)) throw error;
        this.logger.warn(
          `The notice to Flowdock user ${reply.userId} in ${item(thread.snapshot)} was not posted: ${error.message}`,
        );
      }
      return true;
    });
    if (notified === undefined) return 'duplicate';
    if (notified) {
      this.logger.log(
        `Flowdock user ${reply.userId} is not linked: their reply in ${item(thread.snapshot)} waits, and they got the link`,
      );
    }
    return 'awaiting-link';
  }
}

/** What an unlinked replier reads in the thread. */
function noticeText(
  snapshot: Pick<ThreadSnapshot, 'repository' | 'number'>,
  challengeUrl: string,
): string {
  return (
    `Your reply was not posted to GitHub yet: replies here become comments on ${item(snapshot)} ` +
    `made by your own GitHub account, and your Flowdock account is not linked to one. ` +
    `Link it here (the link is yours alone and works for ${CLAIM_LIFETIME_SECONDS / 60} minutes): ${challengeUrl} — ` +
    `your replies written before then are posted once you are linked.`
  );
}
