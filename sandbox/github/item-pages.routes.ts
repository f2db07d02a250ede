import { FastifyInstance, FastifyReply } from 'fastify';
import { GitHubReposState, SimItem, SimRepo } from './github-repos-state';
import { GitHubState } from './github-state';
import { escapeHtml } from '../../src/common/html';
import { actingUser, itemActions, itemPath, layout, repoSection } from './page-html';

type Query = { as?: unknown; note?: unknown };
type Params = { owner: string; repo: string; number: string; login: string };

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * The diff of a pull request. The sandbox has no code, so every pull request
 * changes one thing: it adds its title to the changelog.
 */
function diffText(repo: SimRepo, item: SimItem): string {
  const sha = item.head?.sha ?? '0'.repeat(40);
  return [
    'diff --git a/CHANGELOG.md b/CHANGELOG.md',
    `index 0000000..${sha.slice(0, 7)} 100644`,
    '--- a/CHANGELOG.md',
    '+++ b/CHANGELOG.md',
    '@@ -1,2 +1,3 @@',
    ` # Changelog of ${repo.owner}/${repo.name}`,
    ' ',
    `+- ${item.title.replace(/\s+/g, ' ')} (#${item.number})`,
    '',
  ].join('\n');
}

function itemMain(repo: SimRepo, item: SimItem, as: string): string {
  const full = `${repo.owner}/${repo.name}`;
  const status = item.merged ? 'merged' : item.state;
  const path = itemPath(repo, item);
  const user = (login: string) =>
    `<a href="/${encodeURIComponent(login)}?as=${encodeURIComponent(as)}">${escapeHtml(login)}</a>`;
  const pull =
    item.kind === 'pull'
      ? ` · wants to merge <code>${escapeHtml(item.head?.ref)}</code> into <code>${escapeHtml(item.base?.ref)}</code>` +
        ` · <a id="files" href="${path}/files?as=${encodeURIComponent(as)}">Files changed</a>`
      : '';
  const comments = item.comments
    .map(
      (c) =>
        `<li class="comment" id="issuecomment-${c.id}"><strong>${user(c.author)}</strong> <time>${escapeHtml(c.createdAt)}</time><p>${escapeHtml(c.body)}</p></li>`,
    )
    .join('');
  return `<p><a href="/${escapeHtml(full)}?as=${encodeURIComponent(as)}">${escapeHtml(full)}</a></p>
<article class="item" data-number="${item.number}">
<h2><span class="item-title">${escapeHtml(item.title)}</span> #${item.number}</h2>
<p><span class="state state-${status}">${status}</span> · ${item.kind === 'pull' ? 'pull request' : 'issue'} by ${user(item.author)}${pull}</p>
<div class="box"><dl>
<dt>Assignees</dt><dd class="assignees">${item.assignees.map(user).join(', ') || 'none'}</dd>
<dt>Labels</dt><dd class="labels">${escapeHtml(item.labels.join(', ')) || 'none'}</dd></dl></div>
<div class="box item-body">${item.body ? escapeHtml(item.body) : '<em>No description provided.</em>'}</div>
<ol class="comments">${comments}</ol>
<p>${itemActions(repo, item, as, path)}</p>
</article>`;
}

function userMain(repos: GitHubReposState, login: string, name: string, as: string): string {
  const items = [...repos.repos.values()].flatMap((repo) =>
    [...repo.items.values()]
      .filter((item) => item.author === login || item.assignees.includes(login))
      .map(
        (item) =>
          `<li><a href="${itemPath(repo, item)}?as=${encodeURIComponent(as)}">${escapeHtml(`${repo.owner}/${repo.name}#${item.number}`)}</a> ${escapeHtml(item.title)}` +
          `${item.assignees.includes(login) ? ' (assigned)' : ''}</li>`,
      ),
  );
  return `<h2 class="profile">${escapeHtml(name)} <small>@${escapeHtml(login)}</small></h2>
<p>Opened or assigned:</p><ul>${items.join('') || '<li>nothing yet</li>'}</ul>`;
}

/**
 * The web pages the webhooks' URLs lead to: an item (`/:owner/:repo/pull/:n`,
 * `/:owner/:repo/issues/:n`; a pull request's issue URL redirects, as on
 * GitHub), a pull request's diff (`…/pull/:n/files`, and `.diff`/`.patch` as
 * text), a repository (`/:owner/:repo`) and a user (`/:login`).
 */
export function githubItemPages(
  app: FastifyInstance,
  repos: GitHubReposState,
  state: GitHubState,
): void {
  const html = (reply: FastifyReply, status: number, title: string, path: string, q: Query) => {
    const as = actingUser(state, text(q.as));
    return (main: string) =>
      reply
        .code(status)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(layout(state, { title, path, as, note: text(q.note), main }));
  };
  const notFound = (reply: FastifyReply, q: Query) =>
    html(reply, 404, 'Not found · GitHub (sandbox)', '/', q)('<h2 id="not-found">Not found</h2>');
  const find = (p: Params) => {
    const repo = repos.repo(`${p.owner}/${p.repo}`);
    const item = repo?.items.get(Number(/^(\d+)(?:\.(?:diff|patch))?$/.exec(p.number)?.[1]));
    return repo && item ? { repo, item } : undefined;
  };

  app.get<{ Params: Params; Querystring: Query }>('/:owner/:repo', async (req, reply) => {
    const repo = repos.repo(`${req.params.owner}/${req.params.repo}`);
    if (!repo) return notFound(reply, req.query);
    const full = `${repo.owner}/${repo.name}`;
    const path = `/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;
    const page = html(reply, 200, `${full} · GitHub (sandbox)`, path, req.query);
    return page(repoSection(repo, actingUser(state, text(req.query.as)), path));
  });

  const item =
    (kind: SimItem['kind']) =>
    async (req: { params: Params; query: Query }, reply: FastifyReply) => {
      const found = find(req.params);
      if (!found) return notFound(reply, req.query);
      const { repo, item } = found;
      const suffix = /\.(diff|patch)$/.exec(req.params.number)?.[1];
      if (suffix && item.kind === 'pull' && kind === 'pull') {
        return reply.type('text/plain; charset=utf-8').send(diffText(repo, item));
      }
      if (suffix) return notFound(reply, req.query);
      if (item.kind !== kind) return reply.redirect(itemPath(repo, item), 302);
      const title = `${item.title} · ${repo.owner}/${repo.name}#${item.number}`;
      const page = html(reply, 200, title, itemPath(repo, item), req.query);
      return page(itemMain(repo, item, actingUser(state, text(req.query.as))));
    };
  app.get<{ Params: Params; Querystring: Query }>('/:owner/:repo/pull/:number', item('pull'));
  app.get<{ Params: Params; Querystring: Query }>('/:owner/:repo/issues/:number', item('issue'));

  app.get<{ Params: Params; Querystring: Query }>(
    '/:owner/:repo/pull/:number/files',
    async (req, reply) => {
      const found = find(req.params);
      if (!found || found.item.kind !== 'pull' || !/^\d+$/.test(req.params.number)) {
        return notFound(reply, req.query);
      }
      const { repo, item } = found;
      const path = itemPath(repo, item);
      const as = actingUser(state, text(req.query.as));
      const diff = escapeHtml(diffText(repo, item)).replace(
        /^(\+[^+].*)$/m,
        '<span class="add">$1</span>',
      );
      const page = html(reply, 200, `Files changed · ${item.title}`, `${path}/files`, req.query);
      return page(
        `<p><a href="${path}?as=${encodeURIComponent(as)}">← ${escapeHtml(item.title)} #${item.number}</a> · <a href="${path}.diff">raw diff</a></p>
<h2>Files changed <small>1 file, +1</small></h2>
<pre class="diff" id="diff">${diff}</pre>`,
      );
    },
  );

  app.get<{ Params: Params; Querystring: Query }>('/:login', async (req, reply) => {
    const user = state.userByLogin(req.params.login);
    if (!user) return notFound(reply, req.query);
    const as = actingUser(state, text(req.query.as));
    const path = `/${encodeURIComponent(user.login)}`;
    const page = html(
      reply,
      200,
      `${user.login} (${user.name}) · GitHub (sandbox)`,
      path,
      req.query,
    );
    return page(userMain(repos, user.login, user.name, as));
  });
}
