import { Injectable } from '@nestjs/common';
import { SqlSession } from '../database/pipelined-transaction';
import { FlowdockDeliveryService, PublishBatch } from '../delivery/flowdock-delivery.service';
import { FlowdockSourceService } from '../flowdock/flowdock-source.service';
import { externalThreadId, ThreadSnapshot } from './thread-snapshot';
import { ThreadKey, ThreadMessage, ThreadUpdate } from './github-event.types';
import {
  Echo,
  GitHubThreadStore,
  StoredEcho,
  threadKeyId,
  ThreadWrites,
} from './github-thread.store';
import { GhUser } from './github-payload.types';
import { matchesRepository, route } from '../subscriptions/subscription-matcher';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { applyUpdate, StoredThread } from './thread-state';
import { ciTitle, lateMatchTitle } from './thread-titles';
import { activityMessage } from './thread-messages';

/** One change of a thread: a webhook's, or an action the bridge performed. */
export interface ThreadChange {
  /** `event.action` (or `event`), for subscription filters. */
  kind: string;
  sender: GhUser;
  update: ThreadUpdate;
  /** The message announcing it; null: state only (CI announces itself when the combined state changes). */
  message: ThreadMessage | null;
  /** A webhook that may repeat a change the bridge made: then its echo is spent, not announced twice. */
  echo?: Echo;
  /** A change the bridge makes itself: GitHub's webhook for it will be its echo. */
  expectEcho?: Echo;
  /** Announce (and expect the echo) only when this says the change shows (a repeated click does not). */
  announceIf?: (before: ThreadSnapshot | null, after: ThreadSnapshot) => boolean;
}

export interface ChangeResult {
  outcome: 'published' | 'dropped' | 'state-only' | 'failed';
  /** The rule that dropped it, why it changed state only, or why it failed. */
  reason: string | null;
  /** Messages enqueued (one per flow). */
  messages: number;
}

interface AppliedChanges {
  key: ThreadKey;
  /** One per change, in order. */
  results: ChangeResult[];
  /** The thread after the changes (null: there is still no thread). */
  snapshot: ThreadSnapshot | null;
}

type Subscriptions = Awaited<ReturnType<SubscriptionService['forRepositories']>>;

/** Where a batch's announcements go: the subscriptions of its repositories and the default flow. */
export interface Routing {
  subscriptions: Subscriptions;
  defaultSourceId: string | undefined;
}

/** What one thread's changes add to the batch's writes. */
interface ThreadOutput {
  applied: AppliedChanges;
  thread: StoredThread | null;
  changed: boolean;
  usedEchoes: string[];
  newEchoes: Echo[];
  messages: { sourceId: string; message: ThreadMessage }[];
  /** Flows whose copy of the thread gets the new snapshot; true: created if missing. */
  flows: Map<string, boolean>;
}

const stateOnly = (reason: string): ChangeResult => ({
  outcome: 'state-only',
  reason,
  messages: 0,
});

const sameEcho = (a: Echo, b: Echo) =>
  a.action === b.action && a.actor === b.actor && (a.subject ?? null) === (b.subject ?? null);

/**
 * The one path by which a thread changes, for webhooks (many threads at once)
 * and for the bridge's own actions (one): merge each change into the stored
 * thread in order, spend or record echoes, route announcements to the
 * subscribed flows, then write it all — a handful of statements per batch,
 * however many threads and changes it holds. Runs inside the caller's
 * transaction, on threads the caller has locked (GitHubThreadStore.lock).
 */
@Injectable()
export class ThreadChanges {
  constructor(
    private readonly store: GitHubThreadStore,
    private readonly subscriptions: SubscriptionService,
    private readonly sources: FlowdockSourceService,
    private readonly delivery: FlowdockDeliveryService,
  ) {}

  lock(manager: SqlSession, keys: ThreadKey[], wait: boolean): Promise<ThreadKey[]> {
    return this.store.lock(manager, keys, wait);
  }

  /**
   * The routing of `repositories`: in `manager`'s transaction (apply() reads it
   * so), or outside any, as an action does while GitHub answers, handing it
   * to apply() (one statement less while the thread is locked).
   */
  async routing(repositories: string[], manager?: SqlSession): Promise<Routing> {
    return {
      subscriptions: await this.subscriptions.forRepositories(repositories, manager),
      defaultSourceId: await this.sources.defaultSourceId(),
    };
  }

  async apply(
    manager: SqlSession,
    batch: { key: ThreadKey; changes: ThreadChange[] }[],
    routing?: Routing,
  ): Promise<AppliedChanges[]> {
    const keys = batch.map((b) => b.key);
    const withEchoes = batch.some((b) => b.changes.some((c) => c.echo));
    const { threads, echoes } = await this.store.load(manager, keys, withEchoes);
    // In the caller's transaction: asking for another connection while holding the threads'
    // locks could wait forever on a pool whose connections wait for those locks.
    const context =
      routing ?? (await this.routing([...new Set(keys.map((k) => k.repository))], manager));

    const outputs = batch.map(({ key, changes }) => {
      const id = threadKeyId(key);
      const own = echoes.filter((e) => threadKeyId(e.key) === id);
      try {
        return this.applyToThread(key, changes, threads.get(id) ?? null, own, context);
      } catch (error) {
        // A change the merge cannot take: this thread's changes fail, the batch goes on.
        const reason = `the change could not be applied: ${(error as Error).message}`;
        return failedOutput(key, changes, reason);
      }
    });

    const writes: ThreadWrites = { threads: [], usedEchoes: [], newEchoes: [] };
    const publish: PublishBatch = { snapshots: [], messages: [] };
    for (const out of outputs) {
      const { key } = out.applied;
      if (out.changed && out.thread) writes.threads.push({ key, thread: out.thread });
      writes.usedEchoes.push(...out.usedEchoes);
      writes.newEchoes.push(...out.newEchoes.map((echo) => ({ key, echo })));
      if (!out.thread) continue;
      const snapshot = out.thread.snapshot;
      for (const [sourceId, create] of out.flows)
        publish.snapshots.push({ sourceId, snapshot, create });
      for (const { sourceId, message } of out.messages) {
        publish.messages.push({
          sourceId,
          externalThreadId: externalThreadId(snapshot),
          event: message,
        });
      }
    }
    await this.store.save(manager, writes);
    await this.delivery.enqueue(manager, publish);
    return outputs.map((o) => o.applied);
  }

  private applyToThread(
    key: ThreadKey,
    changes: ThreadChange[],
    stored: StoredThread | null,
    echoes: StoredEcho[],
    context: Routing,
  ): ThreadOutput {
    const out: ThreadOutput = {
      applied: { key, results: [], snapshot: stored?.snapshot ?? null },
      thread: stored,
      changed: false,
      usedEchoes: [],
      newEchoes: [],
      messages: [],
      flows: new Map(),
    };
    const unspent = [...echoes];
    for (const change of changes) {
      const applied = applyUpdate(out.thread, change.update);
      if (!applied.thread) {
        out.applied.results.push(stateOnly('no thread shows this commit yet'));
        continue;
      }
      const before = out.thread?.snapshot ?? null;
      out.changed ||= applied.thread !== out.thread;
      out.thread = applied.thread;
      const after = applied.thread.snapshot;

      const echo = change.echo && unspent.findIndex((e) => sameEcho(e, change.echo!));
      if (echo !== undefined && echo >= 0) {
        out.usedEchoes.push(unspent.splice(echo, 1)[0].id);
        out.applied.results.push(stateOnly("GitHub's echo of the bridge's own action"));
        continue;
      }
      const announce = !change.announceIf || change.announceIf(before, after);
      let message = announce ? change.message : null;
      if (!message && applied.ciChanged && after.ci)
        message = activityMessage(change.sender, ciTitle(after.ci.state));
      const routed = route(context.subscriptions, context.defaultSourceId, {
        repository: key.repository,
        kind: change.kind,
        sender: change.sender,
        item: itemFacts(after),
        before: before && itemFacts(before),
      });
      if (!message && routed.late.length === 0) {
        out.applied.results.push(
          stateOnly(
            change.update.type === 'ci'
              ? 'the CI state shown did not change'
              : 'nothing new to announce',
          ),
        );
        continue;
      }
      if (change.expectEcho && message) out.newEchoes.push(change.expectEcho);
      const sent: { sourceId: string; message: ThreadMessage }[] = [
        ...(message ? routed.sourceIds.map((sourceId) => ({ sourceId, message })) : []),
        // An item that starts to match a flow's rules appears there now, saying why.
        ...routed.late.map(({ sourceId, why }) => ({
          sourceId,
          message: activityMessage(change.sender, lateMatchTitle(why)),
        })),
      ];
      for (const one of sent) {
        out.messages.push(one);
        out.flows.set(one.sourceId, true);
      }
      out.applied.results.push(
        sent.length > 0
          ? {
              outcome: 'published',
              reason:
                routed.late.length > 0
                  ? `late match: ${[...new Set(routed.late.map((l) => l.why))].join('; ')}`
                  : null,
              messages: sent.length,
            }
          : { outcome: 'dropped', reason: routed.dropped, messages: 0 },
      );
    }
    // Every flow that may show the thread gets its newest state (without creating it there).
    for (const sourceId of this.flowsOf(key.repository, context)) {
      if (!out.flows.has(sourceId)) out.flows.set(sourceId, false);
    }
    out.applied.snapshot = out.thread?.snapshot ?? null;
    return out;
  }

  private flowsOf(repository: string, context: Routing): string[] {
    const mine = context.subscriptions.filter((s) =>
      matchesRepository(s.repositoryPattern, repository),
    );
    if (mine.length > 0) return [...new Set(mine.map((s) => s.sourceId))];
    return context.defaultSourceId ? [context.defaultSourceId] : [];
  }
}

/** What the rules look at in a thread's state. */
const itemFacts = (snapshot: ThreadSnapshot) => ({
  labels: snapshot.labels,
  draft: snapshot.state === 'draft',
  author: snapshot.author,
});

function failedOutput(key: ThreadKey, changes: ThreadChange[], reason: string): ThreadOutput {
  return {
    applied: {
      key,
      results: changes.map(() => ({ outcome: 'failed', reason, messages: 0 })),
      snapshot: null,
    },
    thread: null,
    changed: false,
    usedEchoes: [],
    newEchoes: [],
    messages: [],
    flows: new Map(),
  };
}
