import { CiState } from './thread-snapshot';

/**
 * Every title the bridge gives a thread message, in one place: webhooks and
 * the bridge's own actions announce the same change with the same words.
 */
export type ItemNoun = 'pull request' | 'issue';

/** What a title may name besides the action. */
interface TitleFacts {
  merged?: boolean;
  assignee?: string;
  label?: string;
  /** A requested (or no longer requested) reviewer's login, or a team's name. */
  reviewer?: string;
  reviewerIsTeam?: boolean;
  branch?: string;
}

const someone = (login: string | undefined) => `@${login ?? 'someone'}`;

/** The title for an action on a pull request or issue, or null when the bridge does not announce it. */
export function itemTitle(action: unknown, noun: ItemNoun, facts: TitleFacts = {}): string | null {
  switch (action) {
    case 'opened':
      return `opened ${noun}`;
    case 'edited':
      return `edited ${noun}`;
    case 'closed':
      return facts.merged ? `merged ${noun}` : `closed ${noun}`;
    case 'reopened':
      return `reopened ${noun}`;
    case 'assigned':
      return `assigned ${someone(facts.assignee)}`;
    case 'unassigned':
      return `unassigned ${someone(facts.assignee)}`;
    case 'labeled':
      return `added label ${facts.label ?? ''}`;
    case 'unlabeled':
      return `removed label ${facts.label ?? ''}`;
    case 'review_requested':
      return `requested review from ${facts.reviewerIsTeam ? (facts.reviewer ?? 'someone') : someone(facts.reviewer)}`;
    case 'review_request_removed':
      return `removed review request for ${someone(facts.reviewer)}`;
    case 'ready_for_review':
      return `marked ${noun} ready for review`;
    case 'converted_to_draft':
      return `converted ${noun} to draft`;
    case 'synchronize':
      return `pushed new commits to ${facts.branch ?? 'the branch'}`;
    default:
      return null;
  }
}

const REVIEW_TITLES: Record<string, string> = {
  approved: 'approved pull request',
  changes_requested: 'requested changes',
  commented: 'reviewed pull request',
};

/** A submitted review's title by its (lower-case) state; null for states the bridge does not announce. */
export function reviewTitle(state: string): string | null {
  return REVIEW_TITLES[state] ?? null;
}

export function reviewDismissedTitle(reviewer: string | undefined): string {
  return `dismissed review by ${someone(reviewer)}`;
}

/** An item that starts to match a flow's rules (a label added, a draft made ready): why it appears now. */
export function lateMatchTitle(why: string): string {
  return `appears in this flow now: ${why}`;
}

/** A thread rewritten from GitHub's current state (the Refresh action) because it had drifted. */
export function refreshedTitle(): string {
  return 'refreshed the thread from GitHub';
}

export function commentTitle(onTheDiff: boolean): string {
  return onTheDiff ? 'commented on the diff' : 'commented';
}

const CI_TITLES: Record<CiState, string> = {
  success: 'CI passed',
  failure: 'CI failed',
  error: 'CI errored',
  pending: 'CI running',
};

/** Announced when a thread's combined CI state changes. */
export function ciTitle(state: CiState): string {
  return CI_TITLES[state];
}
