import { ThreadSnapshot } from '../threads/thread-snapshot';
import { CiSignal, MappedEvent, ThreadMessage } from '../threads/github-event.types';
import { boundedText } from '../threads/bounded-text';
import {
  GhCheckSuite,
  GhComment,
  GhEnvelope,
  GhIssue,
  GhLabel,
  GhPullRequest,
  GhReview,
  GhUser,
} from '../threads/github-payload.types';
import { issueSnapshot, pullRequestSnapshot } from '../threads/item-snapshot';
import {
  commentTitle,
  ItemNoun,
  itemTitle,
  reviewDismissedTitle,
  reviewTitle,
} from '../threads/thread-titles';

type Payload = GhEnvelope & Record<string, unknown>;

const author = (sender: GhUser): ThreadMessage['author'] => ({
  name: sender.login,
  ...(sender.avatar_url ? { avatar: sender.avatar_url } : {}),
});

const activity = (sender: GhUser, title: string): ThreadMessage => ({
  event: 'activity',
  title,
  author: author(sender),
});

const discussion = (sender: GhUser, title: string, body: string | null | undefined) => ({
  event: 'discussion' as const,
  title,
  body: boundedText(body ?? ''),
  author: author(sender),
});

const user = (value: unknown) => value as GhUser | null | undefined;
const labelName = (value: unknown) => (value as GhLabel | undefined)?.name ?? '';

/** The message title for an action on a pull request or issue, or null if we ignore the action. */
function itemMessageTitle(payload: Payload, noun: ItemNoun): string | null {
  const pr = payload.pull_request as GhPullRequest | undefined;
  const team = payload.requested_team as { name?: string } | undefined;
  const reviewer = user(payload.requested_reviewer)?.login;
  return itemTitle(payload.action, noun, {
    merged: !!pr?.merged,
    assignee: user(payload.assignee)?.login,
    label: labelName(payload.label),
    reviewer: reviewer ?? team?.name,
    reviewerIsTeam: !!team && !payload.requested_reviewer,
    branch: pr?.head.ref,
  });
}

/** A check suite's state: completed suites by conclusion, anything else pending. */
function checkSuiteState(suite: GhCheckSuite): CiSignal['state'] {
  if (suite.status !== 'completed') return 'pending';
  switch (suite.conclusion) {
    case 'success':
    case 'neutral':
    case 'skipped':
      return 'success';
    case 'cancelled':
    case 'stale':
      return 'error';
    default:
      return 'failure';
  }
}

/**
 * Maps a webhook to the thread change and message it means, or null for
 * events and actions the bridge does not show (they are counted, not errors).
 */
export function mapGitHubEvent(name: string, body: object): MappedEvent | null {
  const payload = body as Payload;
  const repository = payload.repository?.full_name;
  const sender = payload.sender;
  if (!repository || !sender) return null;
  const kind = payload.action ? `${name}.${payload.action}` : name;

  switch (name) {
    case 'pull_request':
    case 'issues': {
      const isPull = name === 'pull_request';
      const title = itemMessageTitle(payload, isPull ? 'pull request' : 'issue');
      if (!title) return null;
      const snapshot: ThreadSnapshot = isPull
        ? pullRequestSnapshot(payload.pull_request as GhPullRequest, repository)
        : issueSnapshot(payload.issue as GhIssue, repository);
      const item = (payload.pull_request ?? payload.issue) as { updated_at: string };
      return {
        kind,
        target: { repository, kind: snapshot.kind, number: snapshot.number },
        message: activity(sender, title),
        sender,
        ...(user(payload.assignee)?.login ? { subject: user(payload.assignee)!.login } : {}),
        update: { type: 'item', snapshot, updatedAt: item.updated_at },
      };
    }
    case 'pull_request_review': {
      const review = payload.review as GhReview;
      const pr = payload.pull_request as GhPullRequest;
      const state = review.state.toLowerCase();
      const submittedTitle = reviewTitle(state);
      if (payload.action === 'submitted' && !submittedTitle) return null;
      if (payload.action !== 'submitted' && payload.action !== 'dismissed') return null;
      const snapshot = pullRequestSnapshot(pr, repository);
      const dismissed = payload.action === 'dismissed';
      return {
        kind,
        target: { repository, kind: 'pull', number: pr.number },
        message: dismissed
          ? activity(sender, reviewDismissedTitle(review.user?.login))
          : discussion(sender, submittedTitle!, review.body),
        sender,
        update: {
          type: 'review',
          snapshot,
          updatedAt: pr.updated_at,
          reviewer: review.user?.login ?? sender.login,
          state: dismissed
            ? 'dismissed'
            : (state as 'approved' | 'changes_requested' | 'commented'),
        },
      };
    }
    case 'issue_comment':
    case 'pull_request_review_comment': {
      if (payload.action !== 'created') return null;
      const comment = payload.comment as GhComment;
      const pr = payload.pull_request as GhPullRequest | undefined;
      const issue = payload.issue as GhIssue | undefined;
      const snapshot = pr ? pullRequestSnapshot(pr, repository) : issueSnapshot(issue!, repository);
      const updatedAt = (pr ?? issue)!.updated_at;
      return {
        kind,
        target: { repository, kind: snapshot.kind, number: snapshot.number },
        message: discussion(sender, commentTitle(!!pr), comment.body),
        sender,
        // The comment's id: a comment the bridge posted for a Flowdock reply is its echo.
        ...(comment.id !== undefined ? { subject: String(comment.id) } : {}),
        update: pr
          ? { type: 'item', snapshot, updatedAt }
          : snapshot.kind === 'pull'
            ? { type: 'issue-view', snapshot, updatedAt }
            : { type: 'item', snapshot, updatedAt },
      };
    }
    case 'check_suite': {
      const suite = payload.check_suite as GhCheckSuite;
      const state = checkSuiteState(suite);
      return {
        kind,
        target: {
          repository,
          headSha: suite.head_sha,
          numbers: (suite.pull_requests ?? []).map((p) => p.number),
        },
        message: null,
        sender,
        update: {
          type: 'ci',
          sha: suite.head_sha,
          signal: {
            context: `check_suite:${suite.app?.name ?? 'checks'}`,
            state,
            updatedAt: suite.updated_at,
            description: `${suite.app?.name ?? 'Checks'}: ${suite.conclusion ?? suite.status ?? 'pending'}`,
          },
        },
      };
    }
    case 'status': {
      const sha = payload.sha as string;
      const state = payload.state as CiSignal['state'];
      const context = (payload.context as string | undefined) ?? 'default';
      const description = payload.description as string | null | undefined;
      const url = payload.target_url as string | null | undefined;
      return {
        kind,
        target: { repository, headSha: sha, numbers: [] },
        message: null,
        sender,
        update: {
          type: 'ci',
          sha,
          signal: {
            context: `status:${context}`,
            state,
            updatedAt: payload.updated_at as string,
            description: description ? `${context}: ${description}` : context,
            ...(url ? { url } : {}),
          },
        },
      };
    }
    default:
      return null;
  }
}
