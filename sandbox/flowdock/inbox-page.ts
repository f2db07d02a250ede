import { createHash } from 'node:crypto';
import sanitizeHtml from 'sanitize-html';
import { escapeHtml } from '../../src/common/html';
import { FlowdockState, SimThread } from './flowdock-state';
import { INBOX_SCRIPT } from './inbox-script';

type Json = Record<string, unknown>;

/** Flowdock's status colours; anything else is drawn grey (never put in the page as given). */
const COLOR_CSS: Record<string, string> = {
  red: '#d9534f',
  green: '#3c9a3c',
  yellow: '#d6b300',
  cyan: '#17a2b8',
  orange: '#f0861a',
  grey: '#888',
  black: '#222',
  lime: '#7cb342',
  purple: '#7b4fb3',
  blue: '#2f6fdb',
};

/** A string or number of a posted message; anything else is shown as nothing. */
const scalar = (value: unknown): string | number =>
  typeof value === 'string' || typeof value === 'number' ? value : '';

/**
 * The text of an HTML value from the bridge (titles, fields, bodies are HTML
 * in Flowdock's API): every tag dropped, the text left encoded, so nothing the
 * bridge or GitHub sent is ever interpreted by the page.
 */
const htmlText = (value: unknown): string =>
  sanitizeHtml(String(scalar(value)), { allowedTags: [], allowedAttributes: {} });

const LINKS: sanitizeHtml.IOptions = {
  allowedAttributes: { a: ['href', 'rel', 'target'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowProtocolRelative: false,
  transformTags: {
    a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }),
  },
};

/** What a thread body may hold (Flowdock renders the bridge's HTML, sanitized on its side too). */
const BODY_TAGS = [
  ...['p', 'br', 'hr', 'strong', 'em', 'del', 's', 'code', 'pre', 'blockquote'],
  ...['ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'a'],
  ...['table', 'thead', 'tbody', 'tr', 'th', 'td'],
];

/**
 * An HTML value from the bridge as markup the page may show: only `allowedTags`
 * survive (scripts, styles and their text go entirely), links only to http(s)
 * and mailto, opening in a new tab.
 */
const safeHtml = (value: unknown, allowedTags: string[]): string =>
  typeof value === 'string' ? sanitizeHtml(value, { ...LINKS, allowedTags }).trim() : '';

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);
const httpUrl = (value: unknown): string | undefined =>
  typeof value === 'string' && /^https?:\/\//i.test(value) ? value : undefined;

/** The key the page uses for a thread (source id and external thread id). */
const threadKey = (thread: SimThread) => `${thread.sourceId}:${thread.externalThreadId}`;

function status(thread: Json): string {
  const value = isObject(thread.status) ? thread.status : undefined;
  if (!value) return '';
  const color = typeof value.color === 'string' && COLOR_CSS[value.color] ? value.color : 'grey';
  return (
    `<span class="badge" data-color="${color}" style="background:${COLOR_CSS[color]}">` +
    `${htmlText(value.value)}</span>`
  );
}

function actions(key: string, thread: Json): string {
  const items = list(thread.actions).map((action, index) => {
    if (action['@type'] === 'UpdateAction') {
      return (
        `<button type="button" class="action" data-thread="${escapeHtml(key)}" ` +
        `data-action="${index}" data-name="${escapeHtml(scalar(action.name))}">${htmlText(action.name)}</button>`
      );
    }
    const url = httpUrl(action.url);
    return url
      ? `<a class="view-action" href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${htmlText(action.name)}</a>`
      : '';
  });
  return items.join(' ');
}

/**
 * The thread's messages, newest first, as Flowdock's thread view interleaves
 * them: the integration's activities and discussions, and what users wrote
 * (their nick and their text, both as text).
 */
function timeline(state: FlowdockState, thread: SimThread): string {
  const posted = state.messages
    .filter(
      (m) =>
        m.sourceId === thread.sourceId &&
        (m.body.external_thread_id === thread.externalThreadId || m.body.thread_id === thread.id),
    )
    .map((m) => {
      const author = isObject(m.body.author) ? m.body.author.name : '';
      const when = new Date(m.receivedAt).toISOString().slice(11, 19);
      const body =
        m.body.event === 'discussion' ? `<div>${safeHtml(m.body.body, BODY_TAGS)}</div>` : '';
      const html =
        `<li class="${escapeHtml(scalar(m.body.event))}"><time>${when}</time> <strong>${escapeHtml(scalar(author))}</strong> ` +
        `${htmlText(m.body.title)}${body}</li>`;
      return { id: m.id, html };
    });
  const written = state.userMessages
    .filter((m) => m.threadId === thread.id)
    .map((m) => {
      const nick = state.users.get(m.userId)?.nick ?? String(m.userId);
      const when = new Date(m.receivedAt).toISOString().slice(11, 19);
      const html =
        `<li class="reply"><time>${when}</time> <strong class="author">@${escapeHtml(nick)}</strong> ` +
        `<span class="text">${escapeHtml(m.content)}</span></li>`;
      return { id: m.id, html };
    });
  return [...posted, ...written]
    .sort((a, b) => b.id - a.id)
    .map((entry) => entry.html)
    .join('');
}

function summary(thread: SimThread): string {
  const count = thread.activities + thread.discussions + thread.comments;
  const replies = thread.comments === 1 ? '1 reply' : `${thread.comments} replies`;
  return `Activity (${count})${thread.comments > 0 ? ` · ${replies}` : ''}`;
}

/** The reply form: outside every part, so updates never touch what is being typed. */
const replyForm = (key: string) =>
  `<form class="reply" data-thread="${escapeHtml(key)}">` +
  `<input type="text" name="content" maxlength="8096" placeholder="Reply in this thread" required> ` +
  `<button type="submit">Reply</button></form>`;

const hash = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 16);

/**
 * One thread as the team inbox shows it. Titles, status and names are text;
 * field values keep their links, the body its sanitized markup. Each
 * `data-part` carries a hash of its content, so the page patches only the
 * parts that changed.
 */
function threadHtml(state: FlowdockState, thread: SimThread): { html: string; hash: string } {
  const key = threadKey(thread);
  const t = thread.thread;
  const fields = list(t.fields)
    .map((f) => `<dt>${htmlText(f.label)}</dt><dd>${safeHtml(f.value, ['a'])}</dd>`)
    .join('');
  const external = httpUrl(t.external_url);
  const title = external
    ? `<a href="${escapeHtml(external)}" target="_blank" rel="noopener noreferrer">${htmlText(t.title)}</a>`
    : htmlText(t.title);
  const part = (tag: string, name: string, content: string, attributes = '') =>
    `<${tag}${attributes} data-part="${name}" data-hash="${hash(content)}">${content}</${tag}>`;
  const inner = [
    part('h2', 'head', `${status(t)} <span class="title">${title}</span>`),
    part('dl', 'fields', fields, ' class="fields"'),
    part('div', 'body', safeHtml(t.body, BODY_TAGS), ' class="body"'),
    part('div', 'actions', actions(key, t), ' class="actions"'),
    `<details>${part('summary', 'summary', summary(thread))}` +
      `${part('ol', 'timeline', timeline(state, thread), ' class="timeline"')}</details>`,
    replyForm(key),
  ].join('\n');
  const articleHash = hash(inner);
  return {
    hash: articleHash,
    html: `<article class="thread" data-thread="${escapeHtml(key)}" data-hash="${articleHash}">\n${inner}\n</article>`,
  };
}

/** The threads, newest activity first, each as its article and that article's hash. */
export function inboxThreads(state: FlowdockState): { key: string; hash: string; html: string }[] {
  const lastActivity = new Map<string, number>();
  for (const m of state.messages) {
    if (typeof m.body.external_thread_id === 'string') {
      lastActivity.set(`${m.sourceId}:${m.body.external_thread_id}`, m.id);
    }
  }
  return [...state.threads.values()]
    .sort((a, b) => (lastActivity.get(threadKey(b)) ?? 0) - (lastActivity.get(threadKey(a)) ?? 0))
    .map((thread) => ({ key: threadKey(thread), ...threadHtml(state, thread) }));
}

const EMPTY = '<p class="empty">No threads yet.</p>';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #222; }
header { background: #2b3d4f; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: center; }
header h1 { font-size: 18px; margin: 0; flex: 1; }
main { max-width: 900px; margin: 16px auto; padding: 0 16px; }
#outcome { padding: 8px 12px; margin-bottom: 12px; border-radius: 4px; min-height: 1.4em; }
#outcome.success { background: #dff0d8; } #outcome.error { background: #f8d7da; }
#outcome.challenge { background: #fff3cd; } #outcome.pending { background: #e8eaed; }
.thread { background: #fff; border-radius: 6px; padding: 12px 16px; margin-bottom: 12px; box-shadow: 0 1px 2px #0002; }
.thread h2 { font-size: 16px; margin: 0 0 6px; }
.badge { color: #fff; border-radius: 3px; padding: 1px 6px; font-size: 12px; text-transform: uppercase; }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; color: #555; }
.fields dt { font-weight: 600; } .fields dd { margin: 0; }
.body { color: #333; margin: 6px 0; max-height: 12em; overflow: auto; }
.body p, .body ul, .body ol, .body pre, .body blockquote { margin: 0 0 4px; }
button.action:disabled { opacity: 0.6; cursor: progress; }
.actions { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
.timeline { color: #555; font-size: 13px; }
.timeline .reply .author { color: #2b3d4f; } .timeline .reply .text { white-space: pre-wrap; }
form.reply { display: flex; gap: 6px; } form.reply input { flex: 1; }
`;

/** The whole team inbox page of a flow. */
export function inboxPage(state: FlowdockState, flowName: string, selectedUser?: number): string {
  const threads = inboxThreads(state);
  const users = [...state.users.values()]
    .map(
      (u) =>
        `<option value="${u.id}"${u.id === selectedUser ? ' selected' : ''}>${escapeHtml(u.name)} (@${escapeHtml(u.nick)})</option>`,
    )
    .join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Flowdock (sandbox): ${escapeHtml(flowName)} team inbox</title>
<style>${STYLE}</style></head>
<body>
<header><h1>Flowdock sandbox · ${escapeHtml(flowName)} · Team inbox</h1>
<label>You are <select id="user">${users}</select></label></header>
<main>
<div id="outcome" role="status"></div>
<section id="threads">${threads.map((t) => t.html).join('\n') || EMPTY}</section>
</main>
<script>${INBOX_SCRIPT}</script>
</body></html>`;
}
