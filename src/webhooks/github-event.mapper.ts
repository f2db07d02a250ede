import type {
  CheckSuiteEvent,
  IssueCommentCreatedEvent,
  IssuesEvent,
  PullRequestEvent,
  PullRequestReviewCommentCreatedEvent,
  PullRequestReviewEvent,
  Repository,
  StatusEvent,
  User,
} from '@octokit/webhooks-types';
import { ThreadSnapshot } from '../threads/thread-snapshot';
import { CiSignal, MappedEvent } from '../threads/github-event.types';
import { boundedText } from '../threads/bounded-text';
import { isRecord } from '../common/records';
import { GhUser } from '../threads/github-payload.types';
import { issueSnapshot, pullRequestSnapshot } from '../threads/item-snapshot';
import { activityMessage, messageAuthor } from '../threads/thread-messages';
import {
  commentTitle,
  ItemNoun,
  itemTitle,
  reviewDismissedTitle,
  reviewTitle,
} from '../threads/thread-titles';

/**
 * Payloads are typed as `@octokit/webhooks-types` documents each event, but
 * only their signature was checked: any field may be missing or of another
 * type. So the mapper reads what GitHub may leave out with a guard, a throw
 * while mapping fails the delivery (delivery-intake), and what it made is
 * checked before it is stored (mappedEventProblem).
 */
interface Envelope {
  action?: string;
  repository?: Pick<Repository, 'full_name'>;
  sender?: User;
}

const discussion = (sender: GhUser, title: string, body: string | null | undefined) => ({
  event: 'discussion' as const,
  title,
  body: boundedText(body ?? ''),
  author: messageAuthor(sender),
});

const pickUser = ({ login, type, avatar_url }: GhUser): GhUser => ({
  login,
  type,
  ...(avatar_url ? { avatar_url } : {}),
});

/** The message title for an action on a pull request or issue, or null if we ignore the action. */
function itemMessageTitle(event: PullRequestEvent | IssuesEvent, noun: ItemNoun): string | null {
  const pr = 'pull_request' in event ? event.pull_request : undefined;
  const team = 'requested_team' in event ? event.requested_team : undefined;
  const reviewer = 'requested_reviewer' in event ? event.requested_reviewer : undefined;
  return itemTitle(event.action, noun, {
    merged: !!pr?.merged,
    assignee: 'assignee' in event ? event.assignee?.login : undefined,
    label: ('label' in event ? event.label?.name : undefined) ?? '',
    reviewer: reviewer?.login ?? team?.name,
    reviewerIsTeam: !!team && !reviewer,
    branch: pr?.head.ref,
  });
}

/** A check suite's state: completed suites by conclusion, anything else pending. */
function checkSuiteState(suite: CheckSuiteEvent['check_suite']): CiSignal['state'] {
  if (suite.status !== 'completed') return 'pending';
  // GitHub also concludes `skipped`, which the schema's list lacks.
  switch (suite.conclusion as string | null) {
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
  const envelope = body as Envelope;
  const repository = envelope.repository?.full_name;
  if (!repository || !envelope.sender) return null;
  // What the thread and the filters read of the sender: the rest of GitHub's user object
  // (a dozen URLs, about 1 KB) would be stored with every delivery and read back. Anything
  // but an object goes on as it came, for mappedEventProblem to name.
  const sender: GhUser = isRecord(envelope.sender) ? pickUser(envelope.sender) : envelope.sender;
  const kind = envelope.action ? `${name}.${envelope.action}` : name;

  switch (name) {
    case 'pull_request':
    case 'issues': {
      const event = body as PullRequestEvent | IssuesEvent;
      const isPull = name === 'pull_request';
      const title = itemMessageTitle(event, isPull ? 'pull request' : 'issue');
      if (!title) return null;
      const item = isPull ? (event as PullRequestEvent).pull_request : (event as IssuesEvent).issue;
      const snapshot: ThreadSnapshot = isPull
        ? pullRequestSnapshot(item as PullRequestEvent['pull_request'], repository)
        : issueSnapshot(item, repository);
      const assignee = 'assignee' in event ? event.assignee?.login : undefined;
      return {
        kind,
        target: { repository, kind: snapshot.kind, number: snapshot.number },
        message: activityMessage(sender, title),
        sender,
        ...(assignee ? { subject: assignee } : {}),
        update: { type: 'item', snapshot, updatedAt: item.updated_at },
      };
    }
    case 'pull_request_review': {
      const { action, review, pull_request: pr } = body as PullRequestReviewEvent;
      const state = review.state.toLowerCase();
      const submittedTitle = reviewTitle(state);
      if (action === 'submitted' && !submittedTitle) return null;
      if (action !== 'submitted' && action !== 'dismissed') return null;
      const snapshot = pullRequestSnapshot(pr, repository);
      const dismissed = action === 'dismissed';
      return {
        kind,
        target: { repository, kind: 'pull', number: pr.number },
        message: dismissed
          ? activityMessage(sender, reviewDismissedTitle(review.user?.login))
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
      if (envelope.action !== 'created') return null;
      const event = body as IssueCommentCreatedEvent | PullRequestReviewCommentCreatedEvent;
      const { comment } = event;
      const pr = 'pull_request' in event ? event.pull_request : undefined;
      const issue = 'issue' in event ? event.issue : undefined;
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
      const suite = (body as CheckSuiteEvent).check_suite;
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
      const status = body as StatusEvent;
      const { sha, state, description, target_url: url } = status;
      const context = (status.context as string | undefined) ?? 'default';
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
            updatedAt: status.updated_at,
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
