import { CiState, ReviewState, ThreadSnapshot } from './thread-snapshot';
import { CiSignal, ThreadUpdate } from './github-event.types';

/** What the bridge keeps per thread to merge events that each show only part of it. */
export interface StoredThread {
  snapshot: ThreadSnapshot;
  /** The item's `updated_at` behind the snapshot's item fields (ISO), to refuse older payloads. */
  itemUpdatedAt: string | null;
  /** CI signals for the snapshot's head commit, per check suite app or status context. */
  ci: Record<string, CiSignal>;
}

interface AppliedUpdate {
  thread: StoredThread;
  /** The payload was older than what is stored: item fields were kept as they were. */
  stale: boolean;
  /** The combined CI state changed (CI events are announced only then). */
  ciChanged: boolean;
}

const time = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN);

/** The worst state wins: failure/error over pending over success. */
function combineCi(signals: CiSignal[]): ThreadSnapshot['ci'] {
  if (signals.length === 0) return undefined;
  const rank: Record<CiState, number> = { error: 3, failure: 3, pending: 2, success: 1 };
  const worst = signals.reduce((a, b) => (rank[b.state] > rank[a.state] ? b : a));
  return {
    state: worst.state,
    ...(worst.description ? { description: worst.description } : {}),
    ...(worst.url ? { url: worst.url } : {}),
  };
}

/** Review states survive payloads that list only requested reviewers; a re-request resets one. */
function mergeReviewers(
  previous: ThreadSnapshot['reviewers'],
  requested: ThreadSnapshot['reviewers'],
): ThreadSnapshot['reviewers'] {
  const requestedLogins = new Set(requested.map((r) => r.login));
  const reviewed = previous.filter((r) => r.state !== 'requested' && !requestedLogins.has(r.login));
  return [...reviewed, ...requested];
}

function withReview(
  reviewers: ThreadSnapshot['reviewers'],
  login: string,
  state: ReviewState | 'dismissed',
): ThreadSnapshot['reviewers'] {
  const current = reviewers.find((r) => r.login === login);
  const others = reviewers.filter((r) => r.login !== login);
  if (state === 'dismissed') return others;
  // A plain comment does not withdraw an approval or a change request (as on GitHub).
  if (state === 'commented' && current && current.state !== 'requested') return reviewers;
  return [...others, { login, state }];
}

/** Item fields from a newer payload, keeping what accumulates across events. */
function mergeItem(previous: StoredThread | null, incoming: ThreadSnapshot): ThreadSnapshot {
  if (!previous) return incoming;
  const old = previous.snapshot;
  const sameHead = old.headSha === incoming.headSha;
  return {
    ...incoming,
    reviewers: mergeReviewers(old.reviewers, incoming.reviewers),
    ...(sameHead && old.ci ? { ci: old.ci } : {}),
  };
}

/** An issue-shaped view of a pull request updates only what both shapes share. */
function mergeIssueView(previous: StoredThread | null, incoming: ThreadSnapshot): ThreadSnapshot {
  if (!previous) return incoming;
  const old = previous.snapshot;
  const closedNow = incoming.state === 'closed';
  const state =
    closedNow && (old.state === 'merged' || old.state === 'closed')
      ? old.state
      : !closedNow && (old.state === 'open' || old.state === 'draft')
        ? old.state
        : incoming.state;
  return {
    ...old,
    title: incoming.title,
    body: incoming.body,
    url: incoming.url,
    author: incoming.author,
    assignees: incoming.assignees,
    labels: incoming.labels,
    state,
  };
}

/**
 * Applies an event to the stored thread. GitHub may deliver out of order: a
 * payload whose item `updated_at` is older than the stored one leaves the item
 * fields as they are (equal times apply, later arrival wins), and a CI signal
 * older than the stored one for its context, or for another head commit, is
 * ignored. A review's verdict applies whatever its order.
 */
export function applyUpdate(previous: StoredThread | null, update: ThreadUpdate): AppliedUpdate {
  if (update.type === 'ci') {
    if (!previous || previous.snapshot.headSha !== update.sha) {
      return { thread: previous!, stale: true, ciChanged: false };
    }
    const existing = previous.ci[update.signal.context];
    if (existing && time(existing.updatedAt) > time(update.signal.updatedAt)) {
      return { thread: previous, stale: true, ciChanged: false };
    }
    const ci = { ...previous.ci, [update.signal.context]: update.signal };
    const combined = combineCi(Object.values(ci));
    const snapshot = { ...previous.snapshot, ci: combined };
    return {
      thread: { ...previous, snapshot, ci },
      stale: false,
      ciChanged: previous.snapshot.ci?.state !== combined?.state,
    };
  }

  const stale = !!previous && time(update.updatedAt) < time(previous.itemUpdatedAt);
  let snapshot: ThreadSnapshot;
  if (stale) {
    snapshot = previous.snapshot;
  } else if (update.type === 'issue-view') {
    snapshot = mergeIssueView(previous, update.snapshot);
  } else if (update.type === 'refresh') {
    // GitHub's answer is the truth; CI comes from its webhooks and stays while the head does.
    const old = previous?.snapshot;
    snapshot =
      old?.ci && old.headSha === update.snapshot.headSha
        ? { ...update.snapshot, ci: old.ci }
        : update.snapshot;
  } else {
    snapshot = mergeItem(previous, update.snapshot);
  }
  if (update.type === 'review') {
    snapshot = {
      ...snapshot,
      reviewers: withReview(snapshot.reviewers, update.reviewer, update.state),
    };
  }
  const headChanged = !!previous && previous.snapshot.headSha !== snapshot.headSha;
  const ci = headChanged ? {} : (previous?.ci ?? {});
  return {
    thread: {
      snapshot,
      itemUpdatedAt: stale ? previous.itemUpdatedAt : update.updatedAt,
      ci,
    },
    stale,
    ciChanged: false,
  };
}
