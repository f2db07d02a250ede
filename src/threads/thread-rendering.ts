import {
  FlowdockAction,
  FlowdockStatusColor,
  FlowdockThread,
  FlowdockThreadMessage,
} from '../flowdock/flowdock-api.types';
import { escapeHtml } from '../common/html';
import { isHttpUrl, link, markdownToSafeHtml } from './safe-html';
import { ACTION_NAMES, actionsFor, actionUrl, deliveryLogUrl } from './thread-actions';
import { externalThreadId, ThreadSnapshot } from './thread-snapshot';

/** A thread's status: its value and colour (issues: open green, closed grey; pull requests: open green, draft grey, merged purple, closed red). */
export function threadStatus(snapshot: Pick<ThreadSnapshot, 'kind' | 'state'>): {
  color: FlowdockStatusColor;
  value: string;
} {
  if (snapshot.kind === 'issue') {
    return snapshot.state === 'open' || snapshot.state === 'draft'
      ? { color: 'green', value: 'open' }
      : { color: 'grey', value: 'closed' };
  }
  switch (snapshot.state) {
    case 'open':
      return { color: 'green', value: 'open' };
    case 'draft':
      return { color: 'grey', value: 'draft' };
    case 'merged':
      return { color: 'purple', value: 'merged' };
    case 'closed':
      return { color: 'red', value: 'closed' };
  }
}

/**
 * The thread's buttons: its actions by state, View diff on open and merged
 * pull requests, and on every thread "Delivery log".
 */
function threadActions(snapshot: ThreadSnapshot, publicUrl: string): FlowdockAction[] {
  const updates = actionsFor(snapshot).map((action): FlowdockAction => ({
    '@type': 'UpdateAction',
    name: ACTION_NAMES[action],
    target: {
      '@type': 'EntryPoint',
      urlTemplate: actionUrl(publicUrl, snapshot, action),
      httpMethod: 'POST',
    },
  }));
  const viewDiff: FlowdockAction[] =
    snapshot.kind === 'pull' && snapshot.state !== 'closed' && isHttpUrl(snapshot.url)
      ? [
          {
            '@type': 'ViewAction',
            name: 'View diff',
            url: `${snapshot.url}/files`,
            description: 'View diff in GitHub',
          },
        ]
      : [];
  return [
    ...updates,
    ...viewDiff,
    {
      '@type': 'ViewAction',
      name: 'Delivery log',
      url: deliveryLogUrl(publicUrl, snapshot),
      description: 'What GitHub sent about this item and what the bridge posted (flow members)',
    },
  ];
}

/** Thread fields: values are escaped text or `a` links, which is all Flowdock allows. */
function threadFields(snapshot: ThreadSnapshot): { label: string; value: string }[] {
  const repositoryUrl = snapshot.url.replace(/\/(pull|issues)\/\d+\/?$/, '');
  const origin = isHttpUrl(repositoryUrl) ? new URL(repositoryUrl).origin : undefined;
  const profile = (login: string) =>
    origin ? link(`${origin}/${encodeURIComponent(login)}`, login) : escapeHtml(login);
  const fields = [
    { label: 'Repository', value: link(repositoryUrl, snapshot.repository) },
    { label: 'Author', value: profile(snapshot.author) },
    {
      label: 'Assignees',
      value: snapshot.assignees.length > 0 ? snapshot.assignees.map(profile).join(', ') : 'none',
    },
  ];
  if (snapshot.reviewers.length > 0) {
    fields.push({
      label: 'Reviewers',
      value: snapshot.reviewers
        .map((r) => `${profile(r.login)} (${escapeHtml(r.state.replace('_', ' '))})`)
        .join(', '),
    });
  }
  if (snapshot.labels.length > 0) {
    fields.push({ label: 'Labels', value: snapshot.labels.map(escapeHtml).join(', ') });
  }
  if (snapshot.branches) {
    fields.push({
      label: 'Branches',
      value: `${escapeHtml(snapshot.branches.head)} → ${escapeHtml(snapshot.branches.base)}`,
    });
  }
  if (snapshot.ci) {
    const text = snapshot.ci.description
      ? `${snapshot.ci.state}: ${snapshot.ci.description}`
      : snapshot.ci.state;
    fields.push({
      label: 'CI',
      value: snapshot.ci.url ? link(snapshot.ci.url, text) : escapeHtml(text),
    });
  }
  return fields;
}

/** Flowdock's `thread` object for the newest snapshot of a pull request or issue. */
export function renderThread(snapshot: ThreadSnapshot, publicUrl: string): FlowdockThread {
  return {
    title: `#${snapshot.number} ${escapeHtml(snapshot.title)}`,
    body: markdownToSafeHtml(snapshot.body),
    ...(isHttpUrl(snapshot.url) ? { external_url: snapshot.url } : {}),
    status: threadStatus(snapshot),
    fields: threadFields(snapshot),
    actions: threadActions(snapshot, publicUrl),
  };
}

/** What the GitHub module asks to say in a thread; the thread itself comes from the snapshot. */
export interface ThreadEvent {
  event: 'activity' | 'discussion';
  author: { name: string; avatar?: string };
  /** Plain text ("opened the pull request"). */
  title: string;
  /** Markdown (a comment), for discussions. */
  body?: string | null;
}

/** The complete message, rendered from the event and the newest snapshot at send time. */
export function renderMessage(
  event: ThreadEvent,
  snapshot: ThreadSnapshot,
  uuid: string,
  publicUrl: string,
  /** The thread already rendered from `snapshot` (several messages of one thread share it). */
  thread: FlowdockThread = renderThread(snapshot, publicUrl),
): FlowdockThreadMessage {
  return {
    event: event.event,
    author: {
      name: event.author.name,
      ...(isHttpUrl(event.author.avatar) ? { avatar: event.author.avatar } : {}),
    },
    title: escapeHtml(event.title),
    ...(event.body ? { body: markdownToSafeHtml(event.body) } : {}),
    external_thread_id: externalThreadId(snapshot),
    thread,
    uuid,
  };
}
