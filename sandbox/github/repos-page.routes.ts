import { AddressInfo } from 'node:net';
import { GitHubRoutes } from './github-simulator';
import { GitHubReposState, SimRepo } from './github-repos-state';
import { githubItemPages } from './item-pages.routes';
import { actingUser, layout, localPath, repoSection } from './page-html';
import { addComment, emitCommentCreated } from './comments.routes';
import { emitItemEvent } from './repos.routes';

type Fields = Record<string, string>;

function fields(value: unknown): Fields {
  const out: Fields = {};
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  }
  return out;
}

/**
 * A small page to change the simulated repositories by hand (GET /): open a
 * pull request or issue, close, reopen, merge, comment, label. Every change
 * sends the webhook GitHub would send, signed, to `webhookTarget`. The acting
 * user is a sandbox user (`as`); closing, merging and labelling need triage
 * access (authors may close their own issues), as on GitHub. Once listening,
 * the simulator's address becomes `repos.webUrl`, so the webhooks link to the
 * item, repository and user pages served here (item-pages.routes.ts).
 */
export function githubReposPageRoutes(repos: GitHubReposState): GitHubRoutes {
  return (app, state) => {
    // The payloads' html_urls then lead to the pages below, not to a made-up host.
    app.addHook('onListen', async () => {
      const { port } = app.server.address() as AddressInfo;
      repos.webUrl = `http://127.0.0.1:${port}`;
    });
    githubItemPages(app, repos, state);

    app.get('/', async (request, reply) => {
      const q = fields(request.query);
      const as = actingUser(state, q.as);
      const main = [...repos.repos.values()].map((repo) => repoSection(repo, as, '/')).join('');
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(layout(state, { title: 'GitHub (sandbox)', path: '/', as, note: q.note, main }));
    });

    app.post('/sandbox/items', async (request, reply) => {
      const f = fields(request.body);
      const back = (note: string) =>
        reply.redirect(
          `${localPath(f.back)}?as=${encodeURIComponent(f.as ?? '')}&note=${encodeURIComponent(note)}`,
          303,
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
      const comment = addComment(repos, item, login, text);
      return {
        note: `Commented on #${item.number}`,
        response: await emitCommentCreated(repos, repo, item, comment),
      };
    }
    default:
      return 'unknown operation';
  }
}
