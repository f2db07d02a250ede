import { FastifyReply, FastifyRequest } from 'fastify';
import { GitHubRoutes } from './github-simulator';
import { githubCommentRoutes } from './comments.routes';
import { githubHookRoutes } from './hooks.routes';
import { GitHubReposState, SimCall, SimItem, SimRepo, SimReview } from './github-repos-state';
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
const repoWebUrl = (web: string, repo: SimRepo) =>
  `${web}/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;

export const repoJson = (web: string, repo: SimRepo) => ({
  id: repo.id,
  name: repo.name,
  full_name: `${repo.owner}/${repo.name}`,
  owner: userJson(repo.owner, web),
  private: repo.private,
  html_url: repoWebUrl(web, repo),
  allow_merge_commit: repo.mergeMethods.includes('merge'),
  allow_squash_merge: repo.mergeMethods.includes('squash'),
  allow_rebase_merge: repo.mergeMethods.includes('rebase'),
});

/** A submitted review as the pulls API shows it. */
const reviewJson = (web: string, review: SimReview) => ({
  id: review.id,
  user: userJson(review.user, web),
  state: review.state,
  body: null,
  submitted_at: review.submittedAt,
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
    mergeable: item.state === 'open' && !item.merged ? item.mergeable : null,
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

    /** The repository itself (its merge settings), as whoever may see it. */
    app.get(
      '/repos/:owner/:repo',
      async (req: FastifyRequest<{ Params: Omit<Params, 'number'> }>, reply) => {
        if (repos.failWith) return reply.code(repos.failWith).send({ message: 'Server Error' });
        const user = authenticate(req);
        if (req.headers.authorization && !user) {
          return reply.code(401).send({ message: 'Bad credentials' });
        }
        const repo = repos.repo(`${req.params.owner}/${req.params.repo}`);
        if (!repo || !repos.permission(repo, user?.login ?? null)) return notFound(reply);
        return reply.send(repoJson(repos.webUrl, repo));
      },
    );

    app.get('/repos/:owner/:repo/pulls/:number/reviews', async (req: ItemRequest, reply) => {
      const found = resolve(req, reply, 'pull');
      if (!found) return reply;
      return reply.send(found.item.reviews.map((r) => reviewJson(repos.webUrl, r)));
    });

    /** Submits a review (event APPROVE, REQUEST_CHANGES or COMMENT); GitHub's refusals for approvals. */
    app.post('/repos/:owner/:repo/pulls/:number/reviews', async (req: ItemRequest, reply) => {
      const found = resolve(req, reply, 'pull');
      if (!found) return reply;
      const { user, repo, item } = found;
      if (!user) return reply.code(401).send({ message: 'Requires authentication' });
      const event = (req.body as { event?: unknown } | null)?.event;
      const states = {
        APPROVE: 'APPROVED',
        REQUEST_CHANGES: 'CHANGES_REQUESTED',
        COMMENT: 'COMMENTED',
      } as const;
      if (typeof event !== 'string' || !(event in states)) {
        return reply
          .code(422)
          .send({ message: 'Validation Failed', errors: [{ field: 'event', code: 'invalid' }] });
      }
      const refuse = (why: string) =>
        reply.code(422).send({ message: 'Unprocessable Entity', errors: [why] });
      if (event !== 'COMMENT' && item.author === user.login) {
        return refuse(
          `Can not ${event === 'APPROVE' ? 'approve' : 'request changes on'} your own pull request`,
        );
      }
      if (item.state !== 'open' || item.merged) {
        return refuse('Can not review a closed or merged pull request');
      }
      const review: SimReview = {
        id: repos.nextId(),
        user: user.login,
        state: states[event as keyof typeof states],
        submittedAt: repos.tick(),
      };
      item.reviews.push(review);
      item.updatedAt = review.submittedAt;
      await reply.code(200).send(reviewJson(repos.webUrl, review));
      if (repos.hooksOf(repo).length > 0) {
        const web = repos.webUrl;
        const example = examplePayload('pull_request_review', 'submitted');
        await repos.emit(repo, 'pull_request_review', {
          ...example,
          action: 'submitted',
          review: {
            ...example.review,
            ...reviewJson(web, review),
            state: review.state.toLowerCase(),
          },
          pull_request: pullJson(web, repo, item),
          repository: repoJson(web, repo),
          sender: userJson(user.login, web),
        });
      }
      return reply;
    });

    /**
     * Merges with an allowed method when GitHub would: 405 for a pull request
     * that is not open, has a conflict or is held by branch protection, or a
     * method the repository does not allow; 409 when the head moved (`sha`).
     */
    app.put('/repos/:owner/:repo/pulls/:number/merge', async (req: ItemRequest, reply) => {
      const found = resolve(req, reply, 'pull');
      if (!found) return reply;
      const { user, repo, item } = found;
      if (!user) return reply.code(401).send({ message: 'Requires authentication' });
      if (!repos.can(repo, user.login, 'write')) {
        return reply.code(403).send({ message: 'Must have write access to merge.' });
      }
      const body = (req.body ?? {}) as { merge_method?: unknown; sha?: unknown };
      const method = body.merge_method ?? 'merge';
      const notAllowed = {
        merge: 'Merge commits are not allowed on this repository.',
        squash: 'Squash merges are not allowed on this repository.',
        rebase: 'Rebase merges are not allowed on this repository.',
      } as Record<string, string>;
      if (typeof method !== 'string' || !(method in notAllowed)) {
        return reply
          .code(422)
          .send({ message: 'Validation Failed', errors: [{ field: 'merge_method' }] });
      }
      if (!repo.mergeMethods.includes(method as SimRepo['mergeMethods'][number])) {
        return reply.code(405).send({ message: notAllowed[method] });
      }
      if (item.state !== 'open' || item.merged || !item.mergeable || item.draft) {
        return reply.code(405).send({ message: 'Pull Request is not mergeable' });
      }
      if (item.mergeBlockedBy) return reply.code(405).send({ message: item.mergeBlockedBy });
      if (typeof body.sha === 'string' && body.sha !== item.head?.sha) {
        return reply
          .code(409)
          .send({ message: 'Head branch was modified. Review and try the merge again.' });
      }
      item.merged = true;
      item.state = 'closed';
      item.updatedAt = repos.tick();
      await reply.code(200).send({
        sha: repos.nextId().toString(16).padStart(40, 'a'),
        merged: true,
        message: 'Pull Request successfully merged',
      });
      await emit(repo, item, user, 'closed');
      return reply;
    });

    app.get('/repos/:owner/:repo/issues/:number', get());
    app.get('/repos/:owner/:repo/pulls/:number', get('pull'));
    app.patch('/repos/:owner/:repo/issues/:number', updateState());
    app.patch('/repos/:owner/:repo/pulls/:number', updateState('pull'));
    app.post('/repos/:owner/:repo/issues/:number/assignees', changeAssignees(true));
    app.delete('/repos/:owner/:repo/issues/:number/assignees', changeAssignees(false));
    githubCommentRoutes(repos)(app, state);
    githubHookRoutes(repos)(app, state);
  };
}
