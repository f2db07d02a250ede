/**
 * The bridge's own record of a GitHub pull request or issue, as the newest
 * webhook or action left it. The GitHub module produces it; the Flowdock module
 * stores it per thread and renders it into Flowdock's `thread` object whenever
 * a message is sent, so every message carries the newest state.
 *
 * All text is as GitHub sent it (unescaped); rendering escapes or sanitizes it.
 */
export type ThreadKind = 'pull' | 'issue';

/** open PR green, draft grey, merged purple, closed red; open issue green, closed grey. */
export type ThreadState = 'open' | 'draft' | 'merged' | 'closed';

export type ReviewState = 'requested' | 'approved' | 'changes_requested' | 'commented';

export type CiState = 'pending' | 'success' | 'failure' | 'error';

export interface ThreadSnapshot {
  /** "owner/repo" */
  repository: string;
  kind: ThreadKind;
  number: number;
  title: string;
  /** The description as GitHub sent it (Markdown), or null. */
  body: string | null;
  /** html_url of the pull request or issue. */
  url: string;
  state: ThreadState;
  /** Login of the author. */
  author: string;
  assignees: string[];
  reviewers: { login: string; state: ReviewState }[];
  labels: string[];
  /** Pull requests only. */
  branches?: { head: string; base: string };
  /** Pull requests only: the head commit, to map check_suite/status events. */
  headSha?: string;
  /** Pull requests only: combined CI state of the head commit. */
  ci?: { state: CiState; description?: string; url?: string };
}

/** `github:<owner>/<repo>:pull:<number>` or `github:<owner>/<repo>:issue:<number>` */
export function externalThreadId(
  snapshot: Pick<ThreadSnapshot, 'repository' | 'kind' | 'number'>,
): string {
  return `github:${snapshot.repository}:${snapshot.kind}:${snapshot.number}`;
}
