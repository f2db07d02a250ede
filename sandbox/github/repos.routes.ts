import { FastifyReply, FastifyRequest } from 'fastify';
import { GitHubRoutes } from './github-simulator';
import { githubHookRoutes } from './hooks.routes';
import { GitHubReposState, SimCall, SimItem, SimRepo } from './github-repos-state';
import { GitHubState, SimUser } from './github-state';
import { examplePayload } from './webhook-examples';

type Params = { owner: string; repo: string; number: string };
type ItemRequest = FastifyRequest<{ Params: Params; Body: unknown }>;

export const userJson = (login: string, web: string) => ({
  login,
  id: login.length * 1000 + login.charCodeAt(0),
  type: login.endsWith('[bot]') ? 'Bot' : 'User',
  avatar_url: `https://avatars.example.test/${login}`,
  html_url: `${web}/${encodeURIComponent(login)}`,
});

/** The web address of a repository (`<webUrl>/owner/name`), as `html_url`s carry it. */
export const repoWebUrl = (web: string, repo: SimRepo) =>
  `${web}/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;

export const repoJson = (web: string, repo: SimRepo) => ({
  id: repo.id,
  name: repo.name,
  full_name: `${repo.owner}/${repo.name}`,
  owner: userJson(repo.owner, web),
  private: repo.private,
  html_url: repoWebUrl(web, repo),
});

/** The issues API's view of an item (pull requests included, as GitHub does). */
export function issueJson(web: string, repo: SimRepo, item: SimItem, pullLink = true) {
  const base = repoWebUrl(web, repo);
  const user = (login: string) => userJson(login, web);
  return {
    number: item.number,
    title: item.title,
    body: item.body,
    state: item.state,
    html_url: `${base}/${item.kind === 'pull' ? 'pull' : 'issues'}/${item.number}`,
    user: user(item.author),
    assignee: item.assignees[0] ? user(item.assignees[0]) : null,
    assignees: item.assignees.map(user),
    labels: item.labels.map((name) => ({ name })),
    comments: item.comments.length,
    updated_at: item.updatedAt,
    ...(item.kind === 'pull' && pullLink
      ? {
          pull_request: {
            html_url: `${base}/pull/${item.number}`,
            diff_url: `${base}/pull/${item.number}.diff`,
            patch_url: `${base}/pull/${item.number}.patch`,
          },
        }
      : {}),
  };
}

/** The pulls API's view of a pull request. */
export function pullJson(web: string, repo: SimRepo, item: SimItem) {
  const html = `${repoWebUrl(web, repo)}/pull/${item.number}`;
  return {
    ...issueJson(web, repo, item, false),
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    merged: item.merged,
    merged_at: item.merged ? item.updatedAt : null,
    draft: item.draft,
    requested_reviewers: [],
    head: {
      ref: item.head?.ref ?? 'head',
      sha: item.head?.sha ?? '0'.repeat(40),
      label: item.head?.ref,
    },
    base: { ref: item.base?.ref ?? 'main', label: item.base?.ref },
  };
}

/**
 * Sends the webhook GitHub would send after a change to an item (a
 * `pull_request` or `issues` event built from the official example payloads),
 * signed, to the repository's hooks (`webhookTarget` by default); the first
 * hook's answer, or undefined without a hook.
 */
export async function emitItemEvent(
  repos: GitHubReposState,
  repo: SimRepo,
  item: SimItem,
  senderLogin: string,
  action: string,
  extra: Record<string, unknown> = {},
): Promise<Response | undefined> {
  if (repos.hooksOf(repo).length === 0) return undefined;
  const event = item.kind === 'pull' ? 'pull_request' : 'issues';
  const example = examplePayload(event, 'opened') as unknown as Record<string, unknown>;
  const web = repos.webUrl;
  const payload = {
    ...example,
    action,
    ...(item.kind === 'pull'
      ? { number: item.number, pull_request: pullJson(web, repo, item) }
      : { issue: issueJson(web, repo, item) }),
    repository: repoJson(web, repo),
    sender: userJson(senderLogin, web),
    ...extra,
  };
  return repos.emit(repo, event, payload);
}

const notFound = (reply: FastifyReply) =>
  reply.code(404).send({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });

/**
 * The REST endpoints the bridge's actions use, with GitHub's answers: 401 for a
 * bad token, 404 for what the user may not see, 403 without the needed
 * permission, 422 for impossible changes; assignees GitHub cannot assign are
 * silently left out, as GitHub does. After each change the webhook GitHub
 * would send goes to the repository's hooks (`webhookTarget`), signed; the
 * hooks and their deliveries are served too (hooks.routes.ts).
 */
export function githubRepoRoutes(repos: GitHubReposState): GitHubRoutes {
  return (app, state: GitHubState) => {
    const authenticate = (req: FastifyRequest) =>
      state.authenticate(req.headers.authorization)?.user ?? null;

    app.addHook('preHandler', async (req) => {
      if (repos.delayMs && req.url.startsWith('/repos/')) {
        await new Promise((resolve) => setTimeout(resolve, repos.delayMs));
      }
    });

    // Recorded on arrival, so a call whose caller gave up before the answer counts too (status 0).
    const recorded = new WeakMap<FastifyRequest, SimCall>();
    app.addHook('onRequest', async (req) => {
      if (!req.url.startsWith('/repos/')) return;
      const call: SimCall = {
        method: req.method,
        path: req.url.split('?')[0],
        login: authenticate(req)?.login ?? null,
        status: 0,
      };
      repos.calls.push(call);
      recorded.set(req, call);
    });
    app.addHook('onResponse', async (req, reply) => {
      const call = recorded.get(req);
      if (call) call.status = reply.statusCode;
    });

    /** The user, repository and item of a request, or the error GitHub would answer. */
    const resolve = (req: ItemRequest, reply: FastifyReply, kind?: 'pull') => {
      if (repos.failWith) {
        void reply.code(repos.failWith).send({ message: 'Server Error' });
        return null;
      }
      const user = authenticate(req);
      if (req.headers.authorization && !user) {
        void reply.code(401).send({ message: 'Bad credentials' });
        return null;
      }
      const repo = repos.repo(`${req.params.owner}/${req.params.repo}`);
      const item = repo?.items.get(Number(req.params.number));
      if (
        !repo ||
        !repos.permission(repo, user?.login ?? null) ||
        !item ||
        (kind && item.kind !== kind)
      ) {
        void notFound(reply);
        return null;
      }
      return { user, repo, item };
    };

    const emit = (
      repo: SimRepo,
      item: SimItem,
      sender: SimUser,
      action: string,
      extra: Record<string, unknown> = {},
    ) => emitItemEvent(repos, repo, item, sender.login, action, extra);

    const assignees = (body: unknown): string[] | null => {
      const list = (body as { assignees?: unknown } | null)?.assignees;
      return Array.isArray(list) && list.every((a) => typeof a === 'string') ? list : null;
    };

    const changeAssignees = (adding: boolean) => async (req: ItemRequest, reply: FastifyReply) => {
      const found = resolve(req, reply);
      if (!found) return reply;
      const { user, repo, item } = found;
      if (!user) return reply.code(401).send({ message: 'Requires authentication' });
      const requested = assignees(req.body);
      if (!requested)
        return reply
          .code(422)
          .send({ message: 'Validation Failed', errors: [{ field: 'assignees' }] });
      // GitHub ignores the change without triage access, and assignees without access to the repository.
      const changed: string[] = [];
      if (repos.can(repo, user.login, 'triage')) {
        for (const login of requested) {
          const has = item.assignees.includes(login);
          if (adding && !has && repos.can(repo, login, 'triage')) {
            item.assignees.push(login);
            changed.push(login);
          } else if (!adding && has) {
            item.assignees = item.assignees.filter((a) => a !== login);
            changed.push(login);
          }
        }
      }
      if (changed.length > 0) item.updatedAt = repos.tick();
      await reply.code(adding ? 201 : 200).send(issueJson(repos.webUrl, repo, item));
      for (const login of changed) {
        await emit(repo, item, user, adding ? 'assigned' : 'unassigned', {
          assignee: userJson(login, repos.webUrl),
        });
      }
      return reply;
    };

    const updateState = (kind?: 'pull') => async (req: ItemRequest, reply: FastifyReply) => {
      const found = resolve(req, reply, kind);
      if (!found) return reply;
      const { user, repo, item } = found;
      if (!user) return reply.code(401).send({ message: 'Requires authentication' });
      const state = (req.body as { state?: unknown } | null)?.state;
      if (state !== undefined && state !== 'open' && state !== 'closed') {
        return reply
          .code(422)
          .send({ message: 'Validation Failed', errors: [{ field: 'state', code: 'invalid' }] });
      }
      const mayChange =
        repos.can(repo, user.login, 'triage') ||
        (item.kind === 'issue' && item.author === user.login);
      if (!mayChange) {
        return reply.code(403).send({ message: 'Must have admin rights to Repository.' });
      }
      if (item.merged && state === 'open') {
        return reply.code(422).send({
          message: 'Validation Failed',
          errors: [{ message: 'state cannot be changed. The pull request has been merged.' }],
        });
      }
      const changed = state !== undefined && state !== item.state;
      if (changed) {
        item.state = state;
        item.updatedAt = repos.tick();
      }
      const web = repos.webUrl;
      await reply.code(200).send(kind ? pullJson(web, repo, item) : issueJson(web, repo, item));
      if (changed) await emit(repo, item, user, state === 'closed' ? 'closed' : 'reopened');
      return reply;
    };

    const get = (kind?: 'pull') => async (req: ItemRequest, reply: FastifyReply) => {
      const found = resolve(req, reply, kind);
      if (!found) return reply;
      const { repo, item } = found;
      const web = repos.webUrl;
      return reply.send(kind ? pullJson(web, repo, item) : issueJson(web, repo, item));
    };

    app.get('/repos/:owner/:repo/issues/:number', get());
    app.get('/repos/:owner/:repo/pulls/:number', get('pull'));
    app.patch('/repos/:owner/:repo/issues/:number', updateState());
    app.patch('/repos/:owner/:repo/pulls/:number', updateState('pull'));
    app.post('/repos/:owner/:repo/issues/:number/assignees', changeAssignees(true));
    app.delete('/repos/:owner/:repo/issues/:number/assignees', changeAssignees(false));
    githubHookRoutes(repos)(app, state);
  };
}
