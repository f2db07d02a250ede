import { escapeHtml } from '../../src/common/html';
import { SimItem, SimRepo } from './github-repos-state';
import { GitHubState } from './github-state';

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
.box { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 16px; margin: 12px 0; }
.box dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; } .box dd { margin: 0; }
.item-body, .comment p { white-space: pre-wrap; }
pre.diff { background: #fff; border: 1px solid #d0d7de; padding: 8px; overflow-x: auto; }
pre.diff .add { background: #dafbe1; display: block; }
`;

/** The acting sandbox user of a page: `?as=<login>` when it names one, else the first user. */
export function actingUser(state: GitHubState, as: string | undefined): string {
  if (as && state.userByLogin(as)) return as;
  return [...state.users.values()][0]?.login ?? '';
}

/**
 * A whole page: the header with the sandbox user switcher (links to `path` as
 * each user), the note of the last change, and `main`.
 */
export function layout(
  state: GitHubState,
  page: { title: string; path: string; as: string; note?: string; main: string },
): string {
  const users = [...state.users.values()]
    .map(
      (u) =>
        `<a href="${escapeHtml(page.path)}?as=${encodeURIComponent(u.login)}"${u.login === page.as ? ' class="me"' : ''}>${escapeHtml(u.login)}</a>`,
    )
    .join(' ');
  const note = page.note
    ? `<p id="note"${page.note.startsWith('Error') ? ' class="error"' : ''}>${escapeHtml(page.note)}</p>`
    : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title><style>${STYLE}</style></head>
<body><header><h1><a href="/?as=${encodeURIComponent(page.as)}">GitHub sandbox</a></h1><span>You are ${users}</span></header>
<main>${note}${page.main}</main></body></html>`;
}

/**
 * The change buttons of an item (close, reopen, merge, comment, label) for
 * the acting user; each form posts to /sandbox/items and comes back to `back`.
 */
export function itemActions(repo: SimRepo, item: SimItem, as: string, back: string): string {
  const full = `${repo.owner}/${repo.name}`;
  const action = (name: string, label: string, extra = '') =>
    `<form class="inline" method="post" action="/sandbox/items">` +
    `<input type="hidden" name="repo" value="${escapeHtml(full)}">` +
    `<input type="hidden" name="number" value="${item.number}">` +
    `<input type="hidden" name="as" value="${escapeHtml(as)}">` +
    `<input type="hidden" name="back" value="${escapeHtml(back)}">` +
    `<input type="hidden" name="op" value="${name}">${extra}` +
    `<button type="submit" data-op="${name}" data-number="${item.number}">${label}</button></form>`;
  return [
    item.state === 'open'
      ? action('close', 'Close')
      : !item.merged
        ? action('reopen', 'Reopen')
        : '',
    item.kind === 'pull' && item.state === 'open' ? action('merge', 'Merge') : '',
    action('comment', 'Comment', '<input type="text" name="text" placeholder="comment" required>'),
    action('label', 'Add label', '<input type="text" name="text" placeholder="label" required>'),
  ].join(' ');
}

function itemRow(repo: SimRepo, item: SimItem, as: string, back: string): string {
  const status = item.merged ? 'merged' : item.state;
  return `<tr data-number="${item.number}">
  <td><a href="${itemPath(repo, item)}?as=${encodeURIComponent(as)}">${item.kind === 'pull' ? 'PR' : 'Issue'} #${item.number}</a></td>
  <td class="title">${escapeHtml(item.title)}</td>
  <td class="state-${status}">${status}</td>
  <td class="assignees">${escapeHtml(item.assignees.join(', '))}</td>
  <td>${escapeHtml(item.labels.join(', '))}</td>
  <td>${itemActions(repo, item, as, back)}</td></tr>`;
}

/** A repository's section: the form that opens items, and its items with their buttons. */
export function repoSection(repo: SimRepo, as: string, back: string): string {
  const full = `${repo.owner}/${repo.name}`;
  const rows = [...repo.items.values()]
    .sort((a, b) => b.number - a.number)
    .map((item) => itemRow(repo, item, as, back))
    .join('');
  return `<section class="repo" data-repo="${escapeHtml(full)}"><h2><a href="/${escapeHtml(full)}?as=${encodeURIComponent(as)}">${escapeHtml(full)}</a></h2>
<fieldset><legend>Open a pull request or an issue as ${escapeHtml(as)}</legend>
<form method="post" action="/sandbox/items">
<input type="hidden" name="repo" value="${escapeHtml(full)}">
<input type="hidden" name="as" value="${escapeHtml(as)}">
<input type="hidden" name="back" value="${escapeHtml(back)}">
<input type="hidden" name="op" value="open">
<select name="kind"><option value="pull">Pull request</option><option value="issue">Issue</option></select>
<input type="text" name="title" placeholder="Title" required style="width:20em">
<input type="text" name="body" placeholder="Description" style="width:20em">
<button type="submit" id="open-item">Open</button>
</form></fieldset>
<table><thead><tr><th></th><th>Title</th><th>State</th><th>Assignees</th><th>Labels</th><th></th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

/** The path of an item's page, as its `html_url` has it. */
export const itemPath = (repo: SimRepo, item: SimItem) =>
  `/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}/${item.kind === 'pull' ? 'pull' : 'issues'}/${item.number}`;

/** A same-site path to come back to after a change (anything else: the overview). */
export function localPath(value: string | undefined): string {
  return value && /^\/(?![/\\])[\w\-./%~]*$/.test(value) ? value : '/';
}
