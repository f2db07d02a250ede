import { ThreadSnapshot } from './thread-snapshot';

/**
 * The thread actions, in one place: the route that serves them, their slugs,
 * their button names, their URLs, and which state of a thread offers which.
 */

/** The route of Flowdock's UpdateAction requests (POST); `:kind` is `pulls` or `issues`. */
export const ACTION_ROUTE = 'flowdock/actions/:owner/:repo/:kind/:number/:action';

export const THREAD_ACTIONS = [
  'assign-to-me',
  'unassign-me',
  'close',
  'reopen',
  'approve',
  'merge',
  'refresh',
] as const;
export type ThreadAction = (typeof THREAD_ACTIONS)[number];

/** Actions only a pull request has. */
export const PULL_REQUEST_ACTIONS: readonly ThreadAction[] = ['approve', 'merge'];

export const ACTION_NAMES: Record<ThreadAction, string> = {
  'assign-to-me': 'Assign to me',
  'unassign-me': 'Unassign me',
  close: 'Close',
  reopen: 'Reopen',
  approve: 'Approve',
  merge: 'Merge',
  refresh: 'Refresh',
};

/** `<PUBLIC_URL>/` and ACTION_ROUTE with the item's values. */
export function actionUrl(
  publicUrl: string,
  snapshot: Pick<ThreadSnapshot, 'repository' | 'kind' | 'number'>,
  action: ThreadAction,
): string {
  const [owner, repo] = snapshot.repository.split('/').map(encodeURIComponent);
  const values: Record<string, string> = {
    owner,
    repo,
    kind: snapshot.kind === 'pull' ? 'pulls' : 'issues',
    number: String(snapshot.number),
    action,
  };
  return `${publicUrl}/${ACTION_ROUTE.replace(/:(\w+)/g, (_, name: string) => values[name])}`;
}

/**
 * What a thread offers by state: open -> assign, unassign, close, and for open pull requests that
 * are not drafts approve and merge; closed -> reopen; merged -> nothing to
 * change; Refresh everywhere.
 */
export function actionsFor(snapshot: Pick<ThreadSnapshot, 'kind' | 'state'>): ThreadAction[] {
  const pull = snapshot.kind === 'pull';
  const open = snapshot.state === 'open' || (pull && snapshot.state === 'draft');
  const byState: ThreadAction[] = open
    ? [
        'assign-to-me',
        'unassign-me',
        'close',
        ...(pull && snapshot.state === 'open' ? PULL_REQUEST_ACTIONS : []),
      ]
    : snapshot.state === 'merged' && pull
      ? []
      : ['reopen'];
  return [...byState, 'refresh'];
}

/** `<PUBLIC_URL>/deliveries/:owner/:repo/:number`: what GitHub sent about the item and what reached which flow. */
export function deliveryLogUrl(
  publicUrl: string,
  snapshot: Pick<ThreadSnapshot, 'repository' | 'number'>,
): string {
  const [owner, repo] = snapshot.repository.split('/').map(encodeURIComponent);
  return `${publicUrl}/deliveries/${owner}/${repo}/${snapshot.number}`;
}
