import { ThreadKind, ThreadSnapshot } from './thread-snapshot';
import { GhUser } from './github-payload.types';

/** A message for the thread: what happened, by whom. Text is raw; rendering escapes it. */
export interface ThreadMessage {
  event: 'activity' | 'discussion';
  /** e.g. "opened pull request", "assigned @octocat". */
  title: string;
  /** Discussion text (a comment or review body) as GitHub sent it. */
  body?: string;
  author: { name: string; avatar?: string };
}

export interface ThreadKey {
  repository: string;
  kind: ThreadKind;
  number: number;
}

/** One CI signal: a check suite (per app) or a commit status (per context). */
export interface CiSignal {
  context: string;
  state: 'pending' | 'success' | 'failure' | 'error';
  updatedAt: string;
  description?: string;
  url?: string;
}

/** How an event changes the stored thread. */
export type ThreadUpdate =
  /** The item's full state as the payload shows it (reviewers: requested ones only). */
  | { type: 'item'; snapshot: ThreadSnapshot; updatedAt: string }
  /** An issue-shaped view of a pull request (issue_comment): PR-only fields are kept. */
  | { type: 'issue-view'; snapshot: ThreadSnapshot; updatedAt: string }
  /** A submitted or dismissed review, with the pull request as it was then. */
  | {
      type: 'review';
      snapshot: ThreadSnapshot;
      updatedAt: string;
      reviewer: string;
      state: 'approved' | 'changes_requested' | 'commented' | 'dismissed';
    }
  /** The item as GitHub shows it now (a refresh): replaces what the thread shows, CI aside. */
  | { type: 'refresh'; snapshot: ThreadSnapshot; updatedAt: string }
  /** CI state of a commit; applies to the thread whose head is that commit. */
  | { type: 'ci'; sha: string; signal: CiSignal };

export interface MappedEvent {
  /** `event.action` (or `event` when there is no action), for subscription filters. */
  kind: string;
  /** The thread, or for CI events the repository and commit to find it by. */
  target: ThreadKey | { repository: string; headSha: string; numbers: number[] };
  /** null when the event changes state only (CI updates are announced when the combined state changes). */
  message: ThreadMessage | null;
  sender: GhUser;
  /** The assignee an (un)assignment names; a comment's id. */
  subject?: string;
  update: ThreadUpdate;
}

export function isThreadKey(target: MappedEvent['target']): target is ThreadKey {
  return 'kind' in target;
}
