import type { FastifyReply } from 'fastify';
import { Page, renderPage } from '../http/html-page';
import { escapeHtml } from '../common/html';
import { sendHtml } from '../http/html-response';
import type { DeliveryEntry, RouteView, SendEntry, SourceView } from './delivery-log.service';
import type { DeliveriesViewer } from './deliveries-session.service';
import { itemPath, repositoryPath } from './deliveries-sign-in';

/** A short page in the look of the sign-in pages (400, 403, 503). */
export const sendMessagePage = (reply: FastifyReply, page: Page) =>
  sendHtml(reply, page.status, renderPage(page));

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:80em;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}.note{background:#f4f4f4;padding:.6em 1em;border-radius:6px}
.outcome-dropped,.outcome-failed,.status-dead{color:#a40000;font-weight:600}.status-pending{color:#8a5a00}
code{font-size:.9em}`;

const h = escapeHtml;

/** UTC, to the second: `2026-11-30 05:58:03Z`. */
const time = (value: Date | null) =>
  value
    ? `<time datetime="${value.toISOString()}">${value.toISOString().slice(0, 19).replace('T', ' ')}Z</time>`
    : '';

function layout(title: string, viewer: DeliveriesViewer, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)} · Flowdock–GitHub bridge</title>
<style>${STYLE}</style></head>
<body>
<h1>${h(title)}</h1>
<p id="viewer">Signed in with Flowdock as ${h(viewer.name)} (@${h(viewer.nick)}).</p>
${body}
</body></html>`;
}

function table(id: string, headings: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p id="${id}" class="note">${h(empty)}</p>`;
  const head = headings.map((text) => `<th>${h(text)}</th>`).join('');
  const body = rows.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`);
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>
${body.join('\n')}
</tbody></table>`;
}

/** The flow as people know it; a source made from a bare flow token knows only its name. */
const flowName = (source: SourceView) =>
  source.flow
    ? h(source.flow) + (source.name ? ` <small>(${h(source.name)})</small>` : '')
    : `${h(source.name ?? 'a source')} <small>(flow unknown)</small>`;

function sourceState(source: SourceView, now: Date): string {
  return postingState(source, now) + repliesState(source);
}

/** A refused stream token: replies in the flow are not heard until the source gets a new one. */
function repliesState(source: SourceView): string {
  if (!source.streamRefusedAt) return '';
  return (
    `; <span class="status-dead">replies not heard</span> since ${time(source.streamRefusedAt)}` +
    `${source.streamRefusedReason ? `: ${h(source.streamRefusedReason)}` : ''}` +
    ` — give the source a new stream token (<code>npm run cli -- sources stream-token ${h(source.id)}</code>, or the setup page)`
  );
}

function postingState(source: SourceView, now: Date): string {
  if (source.disabledAt) {
    return `<span class="status-dead">disabled</span> since ${time(source.disabledAt)}${source.disabledReason ? `: ${h(source.disabledReason)}` : ''} <small>(source <code>${h(source.id)}</code>)</small>`;
  }
  if (source.pausedUntil && source.pausedUntil > now) {
    return `paused until ${time(source.pausedUntil)} (Flowdock asked to wait)`;
  }
  return 'active';
}

/** The outcome and, for a dropped or failed delivery, the rule or reason. */
function outcomeCell(delivery: DeliveryEntry): string {
  const outcome = delivery.outcome ?? 'pending';
  const label =
    outcome === 'dropped'
      ? 'rule'
      : outcome === 'failed'
        ? 'reason'
        : outcome === 'pending'
          ? ''
          : 'note';
  const reason = delivery.reason ? ` — ${label}: ${h(delivery.reason)}` : '';
  return `<span class="outcome-${h(outcome)}">${h(outcome)}</span>${reason}`;
}

const eventName = (d: DeliveryEntry) => h(d.action ? `${d.event}.${d.action}` : d.event);

/** The GitHub deliveries of a page; `item` fills the item column. */
function deliveriesTable(
  deliveries: DeliveryEntry[],
  item: (delivery: DeliveryEntry) => string,
  empty: string,
): string {
  return table(
    'deliveries',
    ['received', 'event', 'sender', 'item', 'outcome', 'messages', 'delivery id'],
    deliveries.map((d) => [
      time(d.receivedAt),
      eventName(d),
      d.sender ? `@${h(d.sender)}` : '',
      item(d),
      outcomeCell(d),
      String(d.messages),
      `<code>${h(d.deliveryId)}</code>`,
    ]),
    empty,
  );
}

interface ItemPageData {
  viewer: DeliveriesViewer;
  repository: string;
  number: number;
  githubUrl: string;
  routes: RouteView[];
  deliveries: DeliveryEntry[];
  sends: SendEntry[];
  /** Sends to flows the viewer is not a member of, left out. */
  hiddenSends: number;
  retentionDays: number;
}

export function itemPage(data: ItemPageData): string {
  const { repository, number } = data;
  const [owner, repo] = repository.split('/');
  const now = new Date();
  const github = `${data.githubUrl}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
  // The deliveries tell which kind the number is; without any, both links.
  const kinds = new Set(data.deliveries.map((d) => d.itemKind));
  const onGitHub = [
    kinds.has('issue') && kinds.size === 1
      ? null
      : `<a href="${h(`${github}/pull/${number}`)}">the pull request</a>`,
    kinds.has('pull') && kinds.size === 1
      ? null
      : `<a href="${h(`${github}/issues/${number}`)}">the issue</a>`,
  ]
    .filter(Boolean)
    .join(' / ');
  const deliveries = deliveriesTable(
    data.deliveries,
    (d) => (d.itemKind === 'pull' ? 'pull request' : 'issue'),
    `No GitHub delivery for #${number} in the log (it keeps ${data.retentionDays} days).`,
  );
  const sends = table(
    'sends',
    [
      'queued',
      'id',
      'flow',
      'message',
      'status',
      'attempts',
      'last error',
      'sent / dead',
      'source',
    ],
    data.sends.map((s) => [
      time(s.createdAt),
      h(s.id),
      flowName(s.source),
      `${h(s.title ?? '')}${s.author ? ` <small>by ${h(s.author)}</small>` : ''}<br><small>${h(s.externalThreadId)}</small>`,
      `<span class="status-${h(s.status)}">${h(s.status)}</span>`,
      String(s.attempts),
      h(s.lastError ?? ''),
      time(s.sentAt ?? s.deadAt),
      sourceState(s.source, now),
    ]),
    'No Flowdock message for this item' +
      (data.hiddenSends > 0 ? ' in your flows.' : ': no flow was sent anything about it.'),
  );
  const redrive = data.sends.some((s) => s.status === 'dead')
    ? `<p class="note" id="redrive">A dead message is not sent again by itself. Once its cause is fixed, the bridge's operator sends it again with <code>npm run cli -- deliveries redrive --id &lt;id&gt;</code> (a disabled source first needs <code>npm run cli -- sources enable &lt;source id&gt;</code>).</p>`
    : '';
  const hidden =
    data.hiddenSends > 0
      ? `<p class="note" id="hidden-sends">${data.hiddenSends} message(s) to flows you are not a member of are not shown.</p>`
      : '';
  return layout(
    `Delivery log of ${repository}#${number}`,
    data.viewer,
    `<p><a href="${h(repositoryPath(repository))}">All deliveries of ${h(repository)}</a> ·
${onGitHub} on GitHub</p>
<h2>Where ${h(repository)} posts</h2>
${routesTable(data.routes, now)}
<h2>GitHub deliveries, newest first</h2>
${deliveries}
<p class="note">CI deliveries (check_suite, status) name a commit, not an item: they are listed on the repository's page.</p>
<h2>Flowdock messages, newest first</h2>
${hidden}
${sends}
${redrive}`,
  );
}

function routesTable(routes: RouteView[], now: Date): string {
  return table(
    'routes',
    ['flow', 'through', 'source'],
    routes.map((r) => [
      flowName(r.source),
      r.pattern
        ? `subscription <code>${h(r.pattern)}</code>`
        : 'the default flow (FLOWDOCK_FLOW_TOKEN)',
      sourceState(r.source, now),
    ]),
    'No flow: the repository has no subscription and there is no default flow, so its deliveries are dropped (rule: no subscription).',
  );
}

interface RepositoryPageData {
  viewer: DeliveriesViewer;
  repository: string;
  routes: RouteView[];
  deliveries: DeliveryEntry[];
  counts: Record<string, number>;
  limit: number;
  retentionDays: number;
}

export function repositoryPage(data: RepositoryPageData): string {
  const { repository } = data;
  const [owner, repo] = repository.split('/');
  const counts = Object.entries(data.counts);
  const countsTable = table(
    'counts',
    ['outcome', 'deliveries'],
    counts.map(([outcome, count]) => [
      `<span class="outcome-${h(outcome)}">${h(outcome)}</span>`,
      `<span data-outcome="${h(outcome)}">${count}</span>`,
    ]),
    `No delivery of ${repository} in the log (it keeps ${data.retentionDays} days).`,
  );
  const deliveries = deliveriesTable(
    data.deliveries,
    (d) =>
      d.itemNumber === null
        ? ''
        : `<a href="${h(itemPath(owner, repo, d.itemNumber))}">#${d.itemNumber}</a>`,
    'No deliveries.',
  );
  return layout(
    `Delivery log of ${repository}`,
    data.viewer,
    `<h2>Where ${h(repository)} posts</h2>
${routesTable(data.routes, new Date())}
<h2>Outcomes in the log (the last ${data.retentionDays} days)</h2>
${countsTable}
<h2>The newest ${data.limit} deliveries</h2>
${deliveries}`,
  );
}
