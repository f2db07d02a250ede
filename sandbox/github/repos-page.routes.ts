import { GitHubRoutes } from './github-simulator';
import { GitHubReposState, SimItem, SimRepo } from './github-repos-state';
import { GitHubState } from './github-state';
import { emitItemEvent, issueJson, repoJson, userJson } from './repos.routes';
import { examplePayload } from './webhook-examples';
import { sendWebhook } from './webhook-sender';

type Fields = Record<string, string>;

/** Text of a string or number (anything else is shown as nothing), HTML-escaped. */
const escapeHtml = (value: unknown): string =>
  (typeof value === 'string' || typeof value === 'number' ? String(value) : '').replace(
    /[&<>"']/g,
    (c) => `&#${c.charCodeAt(0)};`,
  );

function fields(value: unknown): Fields {
  const out: Fields = {};
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  }
  return out;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f8fa; color: #1f2328; }
header { background: #24292f; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
header h1 { font-size: 18px; margin: 0; flex: 1; } header a { color: #fff; }
header a.me { font-weight: 700; text-decoration: none; border-bottom: 2px solid #fff; }
main { max-width: 960px; margin: 16px auto; padding: 0 16px; }
#note { padding: 8px 12px; background: #ddf4ff; border-radius: 4px; }
#note.error { background: #ffebe9; }
table { width: 100%; border-collapse: collapse; background: #fff; }
td, th { border-bottom: 1px solid #d0d7de; padding: 6px; text-align: left; vertical-align: top; }
.state-open { color: #1a7f37; } .state-closed { color: #cf222e; } .state-merged { color: #8250df; }
form.inline { display: inline; } input[type=text] { width: 9em; }
fieldset { background: #fff; border: 1px solid #d0d7de; margin: 12px 0; }
`;

function itemRow(repo: SimRepo, item: SimItem, as: string): string {
  const full = `${repo.owner}/${repo.name}`;
  const action = (name: string, label: string, extra = '') =>
    `<form class="inline" method="post" action="/sandbox/items">` +
    `<input type="hidden" name="repo" value="${escapeHtml(full)}">` +
    `<input type="hidden" name="number" value="${item.number}">` +
    `<input type="hidden" name="as" value="${escapeHtml(as)}">` +
    `<input type="hidden" name="op" value="${name}">${extra}` +
    `<button type="submit" data-op="${name}" data-number="${item.number}">${label}</button></form>`;
  const status = item.merged ? 'merged' : item.state;
  const buttons = [
    item.state === 'open'
      ? action('close', 'Close')
      : !item.merged
        ? action('reopen', 'Reopen')
        : '',
    item.kind === 'pull' && item.state === 'open' ? action('merge', 'Merge') : '',
    action('comment', 'Comment', '<input type="text" name="text" placeholder="comment" required>'),
    action('label', 'Add label', '<input type="text" name="text" placeholder="label" required>'),
  ];
  return `<tr data-number="${item.number}">
  <td>${item.kind === 'pull' ? 'PR' : 'Issue'} #${item.number}</td>
  <td class="title">${escapeHtml(item.title)}</td>
  <td class="state-${status}">${status}</td>
  <td class="assignees">${escapeHtml(item.assignees.join(', '))}</td>
  <td>${escapeHtml(item.labels.join(', '))}</td>
  <td>${buttons.join(' ')}</td></tr>`;
}

function page(repos: GitHubReposState, state: GitHubState, as: string, note?: string): string {
  const users = [...state.users.values()]
    .map(
      (u) =>
        `<a href="/?as=${encodeURIComponent(u.login)}"${u.login === as ? ' class="me"' : ''}>${escapeHtml(u.login)}</a>`,
    )
    .join(' ');
  const sections = [...repos.repos.values()].map((repo) => {
    const full = `${repo.owner}/${repo.name}`;
    const rows = [...repo.items.values()]
      .sort((a, b) => b.number - a.number)
      .map((item) => itemRow(repo, item, as))
      .join('');
    return `<section class="repo" data-repo="${escapeHtml(full)}"><h2>${escapeHtml(full)}</h2>
<fieldset><legend>Open a pull request or an issue as ${escapeHtml(as)}</legend>
<form method="post" action="/sandbox/items">
<input type="hidden" name="repo" value="${escapeHtml(full)}">
<input type="hidden" name="as" value="${escapeHtml(as)}">
<input type="hidden" name="op" value="open">
<select name="kind"><option value="pull">Pull request</option><option value="issue">Issue</option></select>
<input type="text" name="title" placeholder="Title" required style="width:20em">
<input type="text" name="body" placeholder="Description" style="width:20em">
<button type="submit" id="open-item">Open</button>
</form></fieldset>
<table><thead><tr><th></th><th>Title</th><th>State</th><th>Assignees</th><th>Labels</th><th></th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
  });
  const noteHtml = note
    ? `<p id="note"${note.startsWith('Error') ? ' class="error"' : ''}>${escapeHtml(note)}</p>`
    : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>GitHub (sandbox)</title><style>${STYLE}</style></head>
<body><header><h1>GitHub sandbox</h1><span>You are ${users}</span></header>
<main>${noteHtml}${sections.join('')}</main></body></html>`;
}

/**
 * A small page to change the simulated repositories by hand (GET /): open a
 * pull request or issue, close, reopen, merge, comment, label. Every change
 * sends the webhook GitHub would send, signed, to `webhookTarget`. The acting
 * user is a sandbox user (`as`); closing, merging and labelling need triage
 * access (authors may close their own issues), as on GitHub.
 */
export function githubReposPageRoutes(repos: GitHubReposState): GitHubRoutes {
  return (app, state) => {
    const defaultLogin = () => [...state.users.values()][0]?.login ?? '';
    app.get('/', async (request, reply) => {
      const q = fields(request.query);
      const as = state.userByLogin(q.as ?? '') ? q.as : defaultLogin();
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page(repos, state, as, q.note));
    });

    app.post('/sandbox/items', async (request, reply) => {
      const f = fields(request.body);
      const back = (note: string, status = 303) =>
        reply.redirect(
          `/?as=${encodeURIComponent(f.as ?? '')}&note=${encodeURIComponent(note)}`,
          status,
        );
      const user = state.userByLogin(f.as ?? '');
      const repo = repos.repo(f.repo ?? '');
      if (!user || !repo) return back('Error: unknown user or repository');
      const result = await change(repos, repo, user.login, f);
      if (typeof result === 'string') return back(`Error: ${result}`);
      return back(result.note + (await delivered(result.response)));
    });
  };
}

async function delivered(response: Response | undefined): Promise<string> {
  if (!response) return ' (no webhook target configured)';
  await response.arrayBuffer();
  return ` (webhook answered ${response.status})`;
}

type Change = { note: string; response: Response | undefined } | string;

/** Applies one change from the page; an error text when GitHub would refuse it. */
async function change(
  repos: GitHubReposState,
  repo: SimRepo,
  login: string,
  f: Fields,
): Promise<Change> {
  if (f.op === 'open') {
    const title = (f.title ?? '').trim();
    if (!title) return 'a title is required';
    if (f.kind !== 'pull' && f.kind !== 'issue') return 'kind must be pull or issue';
    const number = Math.max(0, ...repo.items.keys()) + 1;
    const item = repos.addItem(`${repo.owner}/${repo.name}`, {
      number,
      kind: f.kind,
      title,
      body: f.body?.trim() || null,
      author: login,
    });
    const response = await emitItemEvent(repos, repo, item, login, 'opened');
    return { note: `Opened #${number}`, response };
  }
  const item = repo.items.get(Number(f.number));
  if (!item) return `no item #${f.number ?? ''}`;
  const triage = repos.can(repo, login, 'triage');
  const refuse = `${login} needs triage access to ${repo.owner}/${repo.name}`;
  const touch = () => (item.updatedAt = repos.tick());
  switch (f.op) {
    case 'close':
    case 'reopen': {
      if (!triage && !(item.kind === 'issue' && item.author === login)) return refuse;
      if (item.merged) return 'a merged pull request cannot be reopened';
      const next = f.op === 'close' ? 'closed' : 'open';
      if (item.state === next) return `#${item.number} is already ${next}`;
      item.state = next;
      touch();
      const action = f.op === 'close' ? 'closed' : 'reopened';
      return {
        note: `#${item.number} ${action}`,
        response: await emitItemEvent(repos, repo, item, login, action),
      };
    }
    case 'merge': {
      if (!repos.can(repo, login, 'write')) return `${login} needs write access to merge`;
      if (item.kind !== 'pull' || item.state !== 'open') return 'only an open pull request merges';
      item.state = 'closed';
      item.merged = true;
      touch();
      return {
        note: `#${item.number} merged`,
        response: await emitItemEvent(repos, repo, item, login, 'closed'),
      };
    }
    case 'label': {
      if (!triage) return refuse;
      const name = (f.text ?? '').trim();
      if (!name) return 'a label name is required';
      if (item.labels.includes(name)) return `#${item.number} already has ${name}`;
      item.labels.push(name);
      touch();
      const extra = { label: { name, color: 'ededed' } };
      return {
        note: `Labelled #${item.number} ${name}`,
        response: await emitItemEvent(repos, repo, item, login, 'labeled', extra),
      };
    }
    case 'comment': {
      const text = (f.text ?? '').trim();
      if (!text) return 'a comment needs text';
      return {
        note: `Commented on #${item.number}`,
        response: await comment(repos, repo, item, login, text),
      };
    }
    default:
      return 'unknown operation';
  }
}

let nextCommentId = 9_000_000;

/** An issue_comment.created webhook (GitHub sends it for pull request conversations too). */
async function comment(
  repos: GitHubReposState,
  repo: SimRepo,
  item: SimItem,
  login: string,
  text: string,
): Promise<Response | undefined> {
  if (!repos.webhookTarget) return undefined;
  const id = nextCommentId++;
  const issue = issueJson(repo, item);
  const now = repos.tick();
  const payload = {
    ...examplePayload('issue_comment', 'created'),
    action: 'created',
    issue,
    comment: {
      id,
      body: text,
      user: userJson(login),
      html_url: `${issue.html_url}#issuecomment-${id}`,
      created_at: now,
      updated_at: now,
    },
    repository: repoJson(repo),
    sender: userJson(login),
  };
  return sendWebhook(repos.webhookTarget.url, repos.webhookTarget.secret, 'issue_comment', payload);
}
