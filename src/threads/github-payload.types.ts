/**
 * The parts of GitHub webhook payloads the bridge reads. Real payloads carry
 * much more; these structural types keep the mapping independent of the
 * generated schema's churn while the tests feed it the official examples.
 */
export interface GhUser {
  login: string;
  avatar_url?: string;
  type?: string;
}

export interface GhLabel {
  name: string;
}

interface GhRepository {
  full_name: string;
}

interface GhItemBase {
  number: number;
  title: string;
  body?: string | null;
  html_url: string;
  state: string;
  user: GhUser | null;
  assignees?: (GhUser | null)[] | null;
  labels?: (GhLabel | null)[] | null;
  updated_at: string;
}

export interface GhPullRequest extends GhItemBase {
  draft?: boolean;
  merged?: boolean | null;
  merged_at?: string | null;
  requested_reviewers?: (GhUser | { name: string; slug?: string })[] | null;
  head: { ref: string; sha: string; label?: string };
  base: { ref: string; label?: string };
}

export interface GhIssue extends GhItemBase {
  /** Present when the issue is a pull request (issue_comment on a PR). */
  pull_request?: unknown;
}

export interface GhReview {
  user: GhUser | null;
  state: string;
  body?: string | null;
  html_url?: string;
  submitted_at?: string | null;
}

export interface GhComment {
  id?: number;
  user: GhUser | null;
  body: string;
  html_url: string;
  updated_at?: string;
}

export interface GhCheckSuite {
  head_sha: string;
  status: string | null;
  conclusion: string | null;
  updated_at: string;
  url?: string;
  app?: { name?: string } | null;
  pull_requests?: { number: number }[];
}

/** The envelope every handled event shares. */
export interface GhEnvelope {
  action?: string;
  repository?: GhRepository;
  sender?: GhUser;
}
