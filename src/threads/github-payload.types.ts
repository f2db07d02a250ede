import type { Issue, Label, PullRequest, Team, User } from '@octokit/webhooks-types';

/**
 * The parts of GitHub's pull requests, issues and users the bridge reads, named
 * and typed as `@octokit/webhooks-types` has them, so a field GitHub's schema
 * renames or retypes fails the build. Fields that some payloads leave out or
 * send as null (a review's pull request has no `merged`; the REST API's issue
 * may lack assignees) are optional here and read with a guard: payloads are
 * not trusted to match the schema.
 */
export type GhUser = Pick<User, 'login'> & {
  avatar_url?: User['avatar_url'];
  /** `User['type']` in webhooks; any string in the REST API's types (and the stored events). */
  type?: string;
};

type GhLabel = Pick<Label, 'name'>;

type GhItemBase = Pick<Issue, 'number' | 'title' | 'html_url' | 'updated_at'> & {
  body?: Issue['body'];
  /** Anything but `closed` counts as open. */
  state?: string;
  user: GhUser | null;
  assignees?: (GhUser | null)[] | null;
  labels?: (GhLabel | null)[] | null;
};

export type GhPullRequest = GhItemBase &
  Partial<Pick<PullRequest, 'draft' | 'merged' | 'merged_at'>> & {
    requested_reviewers?: (GhUser | Pick<Team, 'name' | 'slug'>)[] | null;
    head: Pick<PullRequest['head'], 'ref' | 'sha'>;
    base: Pick<PullRequest['base'], 'ref'>;
  };

export type GhIssue = GhItemBase & {
  /** Present when the issue is a pull request (issue_comment on a PR). */
  pull_request?: unknown;
};
