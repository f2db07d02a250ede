import { Page } from '../http/html-page';
import { escapeHtml } from '../common/html';
import { FlowdockFlow } from '../flowdock/flowdock-api.types';
import type { ConnectedRepository, SetupFormFields, SetupRequest } from './flowdock-setup.service';

const AGAIN = 'Add the integration to the flow again in Flowdock to start over.';

/** Every way the setup flow can fail, each with its status, a sentence and a next step. */
export const SETUP_FAILURE_PAGES = {
  'flow-missing': {
    status: 400,
    title: 'No flow was named',
    message:
      'The setup link has no valid flow id, so the bridge does not know which flow to set up.',
    next: "Open the setup from the flow's integration settings in Flowdock.",
  },
  'state-missing-cookie': {
    status: 400,
    title: 'Setup could not continue in this browser',
    message:
      'This setup was not started in this browser (or its cookie expired or was blocked). Nothing was connected.',
    next: `Allow cookies for this site. ${AGAIN}`,
  },
  'state-mismatch': {
    status: 400,
    title: 'Setup could not continue',
    message:
      'This answer does not belong to the setup this browser started (another tab may have started a newer one). Nothing was connected.',
    next: AGAIN,
  },
  'state-used-or-expired': {
    status: 400,
    title: 'This setup step is over',
    message:
      'This step was already completed or took longer than 10 minutes. Nothing more was connected.',
    next: AGAIN,
  },
  'bad-callback': {
    status: 400,
    title: 'Setup could not continue',
    message: 'Flowdock sent the browser back without an answer the bridge understands.',
    next: AGAIN,
  },
  'bad-form': {
    status: 400,
    title: 'This form cannot be used',
    message: 'The form was changed or belongs to another setup. Nothing was connected.',
    next: AGAIN,
  },
  denied: {
    status: 403,
    title: 'Setup was cancelled',
    message: 'You declined the request on Flowdock, so nothing was connected.',
    next: `To connect repositories, ${AGAIN.charAt(0).toLowerCase()}${AGAIN.slice(1)} and choose Approve.`,
  },
  'flow-not-found': {
    status: 404,
    title: 'The flow was not found',
    message:
      'Flowdock does not show this flow to your account: it does not exist or you are not a member. Nothing was connected.',
    next: 'Sign in to Flowdock as a member of the flow, then add the integration again.',
  },
  'flowdock-refused': {
    status: 403,
    title: 'Flowdock refused the setup',
    message:
      'Flowdock did not allow the request (the sign-in may have been used already, or your account may not add integrations to this flow). Nothing was connected.',
    next: AGAIN,
  },
  'flowdock-unreachable': {
    status: 502,
    title: 'Flowdock cannot be reached',
    message: 'The bridge could not reach Flowdock to finish the setup. Nothing was connected.',
    next: `Wait a minute, then ${AGAIN.charAt(0).toLowerCase()}${AGAIN.slice(1)}`,
  },
  unexpected: {
    status: 500,
    title: 'Something failed on the bridge',
    message: 'The bridge hit an internal error. Nothing was connected. The error is in its log.',
    next: `Try again in a minute; if it keeps failing, tell the bridge's operator.`,
  },
} satisfies Record<string, Page>;

export type SetupFailureKind = keyof typeof SETUP_FAILURE_PAGES;

export interface FormValues {
  repositories: string;
  events: string;
  labels: string;
  excludeLabels: string;
  excludeUsers: string;
  ignoreBots: boolean;
  announceDrafts: boolean;
}

export const EMPTY_FORM: FormValues = {
  repositories: '',
  events: '',
  labels: '',
  excludeLabels: '',
  excludeUsers: '',
  ignoreBots: false,
  announceDrafts: false,
};

export function formValues(request: SetupRequest, posted: SetupFormFields): FormValues {
  return {
    repositories: posted.repositories ?? '',
    events: posted.events ?? '',
    labels: posted.labels ?? '',
    excludeLabels: posted.excludeLabels ?? '',
    excludeUsers: posted.excludeUsers ?? '',
    ignoreBots: request.ignoreBots,
    announceDrafts: request.drafts === 'announce',
  };
}

/**
 * The repositories form. `action` carries the form step's one-use state (the
 * CSRF token: it must match this browser's signed cookie); `sealedToken` is
 * the Flowdock access token encrypted for that state only.
 */
export function setupFormPage(options: {
  flow: FlowdockFlow;
  action: string;
  sealedToken: string;
  values: FormValues;
  problems: string[];
  status: number;
}): Page {
  const { flow, values, problems } = options;
  const errors =
    problems.length === 0
      ? ''
      : `<ul id="problems">${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`;
  return {
    status: options.status,
    title: `Connect GitHub repositories to ${flow.name}`,
    message: `Messages about the repositories you enter will appear in the flow ${flow.name} (${flow.path}) as one thread per pull request and issue.`,
    next: 'Enter one repository per line: owner/repo, or owner/* for every repository of an owner. Each becomes a source in the flow.',
    extraHtml: `${errors}
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="token" value="${escapeHtml(options.sealedToken)}">
<p><label for="repositories">Repositories</label><br>
<textarea id="repositories" name="repositories" rows="5" cols="40" required>${escapeHtml(values.repositories)}</textarea></p>
<p><label for="events">Only these events (optional, e.g. pull_request, issues.opened)</label><br>
<input id="events" name="events" value="${escapeHtml(values.events)}"></p>
<p><label for="labels">Only items carrying all of these labels (optional, comma-separated)</label><br>
<input id="labels" name="labels" value="${escapeHtml(values.labels)}"></p>
<p><label for="excludeLabels">Not items carrying any of these labels (optional, comma-separated)</label><br>
<input id="excludeLabels" name="excludeLabels" value="${escapeHtml(values.excludeLabels)}"></p>
<p><label for="excludeUsers">Not events sent by, nor items authored by, these people (optional, logins or patterns such as dependabot* or *[bot])</label><br>
<input id="excludeUsers" name="excludeUsers" value="${escapeHtml(values.excludeUsers)}"></p>
<p><label><input type="checkbox" name="ignoreBots"${values.ignoreBots ? ' checked' : ''}> Ignore events sent by bots</label></p>
<p><label><input type="checkbox" name="announceDrafts"${values.announceDrafts ? ' checked' : ''}> Announce draft pull requests (otherwise they appear once marked ready for review)</label></p>
<p>An item that starts to match later (a label added, a draft marked ready) appears in the flow then.</p>
<p><button type="submit">Connect</button></p>
</form>`,
  };
}

export function connectedPage(flow: FlowdockFlow, connected: ConnectedRepository[]): Page {
  const items = connected
    .map(
      (c) =>
        `<li><code>${escapeHtml(c.repository)}</code> (subscription <code>${escapeHtml(c.subscriptionId)}</code>)</li>`,
    )
    .join('');
  return {
    status: 201,
    title: `Connected to ${flow.name}`,
    message: `${connected.length} ${connected.length === 1 ? 'repository now posts' : 'repositories now post'} to the flow ${flow.name} (${flow.path}).`,
    next: 'Make sure each repository sends its webhooks to this bridge. You can close this page.',
    extraHtml: `<ul id="connected">${items}</ul>`,
  };
}

export function alreadyConnectedPage(flow: FlowdockFlow, repositories: string[]): Page {
  return {
    status: 409,
    title: 'Already connected',
    message: `These repositories already post to ${flow.name} (${flow.path}): ${repositories.join(', ')}. A second source would post everything twice, so nothing was connected.`,
    next: 'Remove them from the list and submit again, or remove their subscriptions first to change their filters.',
  };
}

export function incompletePage(
  orphans: { repository: string; id: string }[],
  status: number,
): Page {
  const list = orphans.map((o) => `${o.repository} (source ${o.id})`).join(', ');
  return {
    status,
    title: 'Setup did not finish',
    message:
      'Nothing was connected: the bridge stored no subscription. ' +
      (orphans.length > 0
        ? `Flowdock already created these sources, which will stay empty because the bridge did not keep their tokens: ${list}.`
        : ''),
    next: "Remove those sources from the flow's integrations in Flowdock, then add the integration again.",
  };
}
