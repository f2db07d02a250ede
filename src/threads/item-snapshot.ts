import { ThreadSnapshot } from './thread-snapshot';
import { boundedText } from './bounded-text';
import { GhIssue, GhPullRequest, GhUser } from './github-payload.types';

const logins = (users: (GhUser | null)[] | null | undefined): string[] =>
  (users ?? []).filter((u): u is GhUser => !!u?.login).map((u) => u.login);

const labelNames = (labels: ({ name: string } | null)[] | null | undefined): string[] =>
  (labels ?? []).filter((l): l is { name: string } => !!l?.name).map((l) => l.name);

/**
 * A pull request's snapshot as the payload shows it. Reviewers are only the
 * requested ones here; review states accumulate in the stored thread.
 * Review payloads omit `merged` and `draft`: `merged_at` stands in for the first.
 */
export function pullRequestSnapshot(pr: GhPullRequest, repository: string): ThreadSnapshot {
  const merged = pr.merged === true || (pr.merged == null && !!pr.merged_at);
  const state = merged ? 'merged' : pr.state === 'closed' ? 'closed' : pr.draft ? 'draft' : 'open';
  const requested = (pr.requested_reviewers ?? [])
    .map((r) => ('login' in r ? r.login : r.slug ? `@${r.slug}` : r.name))
    .filter(Boolean);
  return {
    repository,
    kind: 'pull',
    number: pr.number,
    title: pr.title,
    body: pr.body == null ? null : boundedText(pr.body),
    url: pr.html_url,
    state,
    author: pr.user?.login ?? 'ghost',
    assignees: logins(pr.assignees),
    reviewers: requested.map((login) => ({ login, state: 'requested' as const })),
    labels: labelNames(pr.labels),
    branches: { head: pr.head.ref, base: pr.base.ref },
    headSha: pr.head.sha,
  };
}

/** An issue's snapshot; for a pull request seen through the issues API, only the shared fields. */
export function issueSnapshot(issue: GhIssue, repository: string): ThreadSnapshot {
  return {
    repository,
    kind: issue.pull_request ? 'pull' : 'issue',
    number: issue.number,
    title: issue.title,
    body: issue.body == null ? null : boundedText(issue.body),
    url: issue.html_url,
    state: issue.state === 'closed' ? 'closed' : 'open',
    author: issue.user?.login ?? 'ghost',
    assignees: logins(issue.assignees),
    reviewers: [],
    labels: labelNames(issue.labels),
  };
}
