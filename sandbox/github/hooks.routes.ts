import { FastifyReply, FastifyRequest } from 'fastify';
import { GitHubRoutes } from './github-simulator';
import { SimDelivery, SimHook } from './github-hooks';
import { GitHubReposState } from './github-repos-state';

type Params = {
  owner?: string;
  repo?: string;
  org?: string;
  hook_id?: string;
  delivery_id?: string;
};
type HookRequest = FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>;

/** Scopes of a classic token that let it read / redeliver a repository's hooks, or an organization's. */
const REPO_READ = ['admin:repo_hook', 'write:repo_hook', 'read:repo_hook', 'repo'];
const REPO_WRITE = ['admin:repo_hook', 'write:repo_hook', 'repo'];
const ORG = ['admin:org_hook'];
const CURSOR = /^v1_([1-9][0-9]{0,15})$/;
const DOCS = 'https://docs.github.com/rest/webhooks';

const summary = (d: SimDelivery) => ({
  id: d.id,
  guid: d.guid,
  delivered_at: d.delivered_at,
  redelivery: d.redelivery,
  duration: d.duration,
  status: d.status,
  status_code: d.status_code,
  event: d.event,
  action: d.action,
  installation_id: null,
  repository_id: d.repository_id,
  throttled_at: null,
});

/**
 * GitHub's webhook REST API over the simulator's hooks (github-hooks.ts):
 * list a repository's or organization's hooks, list a hook's deliveries
 * (newest first, `per_page` up to 100, `cursor` paging through the `Link`
 * header), show one, and ask for a redelivery (202; the same body and guid
 * are sent again moments later, marked as a redelivery). As on GitHub: 401
 * without a valid token; 404 for a hook or delivery that does not exist, and
 * for a token without the scope (`admin:repo_hook`, or `admin:org_hook` under
 * `/orgs`) or whose user is no admin of the repository (owner of the
 * organization); `X-OAuth-Scopes` / `X-Accepted-OAuth-Scopes` say which.
 */
export function githubHookRoutes(repos: GitHubReposState): GitHubRoutes {
  return (app, state) => {
    const notFound = (reply: FastifyReply) =>
      void reply.code(404).send({ message: 'Not Found', documentation_url: DOCS });

    /** The hooks the request's token may see, or null once GitHub's refusal was sent. */
    const visibleHooks = (req: HookRequest, reply: FastifyReply, write: boolean) => {
      if (repos.failWith) {
        void reply.code(repos.failWith).send({ message: 'Server Error' });
        return null;
      }
      const auth = state.authenticate(req.headers.authorization);
      if (!auth) {
        const message = req.headers.authorization ? 'Bad credentials' : 'Requires authentication';
        void reply.code(401).send({ message, documentation_url: DOCS });
        return null;
      }
      const { org, owner, repo: name } = req.params;
      const accepted = org !== undefined ? ORG : write ? REPO_WRITE : REPO_READ;
      void reply
        .header('x-oauth-scopes', auth.token.scopes.join(', '))
        .header('x-accepted-oauth-scopes', accepted.join(', '));
      const scoped = auth.token.scopes.some((s) => accepted.includes(s));
      if (org !== undefined) {
        const owners = repos.hooks.orgOwners.get(org.toLowerCase());
        if (scoped && owners?.has(auth.user.login)) return repos.hooks.ofOrg(org);
        notFound(reply);
        return null;
      }
      const repo = repos.repo(`${owner}/${name}`);
      if (repo && scoped && repos.can(repo, auth.user.login, 'admin')) {
        return repos.hooksOf(repo).filter((h) => 'repository' in h.scope);
      }
      notFound(reply);
      return null;
    };

    const hookOf = (req: HookRequest, reply: FastifyReply, write = false): SimHook | null => {
      const hooks = visibleHooks(req, reply, write);
      const hook = hooks?.find((h) => String(h.id) === req.params.hook_id);
      if (hooks && !hook) notFound(reply);
      return hook ?? null;
    };

    const deliveryOf = (req: HookRequest, reply: FastifyReply, write = false) => {
      const hook = hookOf(req, reply, write);
      if (!hook) return null;
      const delivery = repos.hooks
        .deliveriesOf(hook.id)
        .find((d) => String(d.id) === req.params.delivery_id);
      if (!delivery) notFound(reply);
      return delivery ?? null;
    };

    const base = (req: HookRequest) => `http://${req.headers.host ?? '127.0.0.1'}`;
    const prefixOf = (req: HookRequest) =>
      req.params.org !== undefined
        ? `/orgs/${req.params.org}`
        : `/repos/${req.params.owner}/${req.params.repo}`;

    const hookJson = (req: HookRequest, hook: SimHook) => {
      const url = `${base(req)}${prefixOf(req)}/hooks/${hook.id}`;
      return {
        type: 'org' in hook.scope ? 'Organization' : 'Repository',
        id: hook.id,
        name: 'web',
        active: hook.active,
        events: hook.events,
        config: { content_type: 'json', insecure_ssl: '0', url: hook.url, secret: '********' },
        url,
        ping_url: `${url}/pings`,
        deliveries_url: `${url}/deliveries`,
      };
    };

    for (const prefix of ['/repos/:owner/:repo', '/orgs/:org']) {
      app.get(`${prefix}/hooks`, async (req: HookRequest, reply) => {
        const hooks = visibleHooks(req, reply, false);
        return hooks ? reply.send(hooks.map((h) => hookJson(req, h))) : reply;
      });

      app.get(`${prefix}/hooks/:hook_id/deliveries`, async (req: HookRequest, reply) => {
        const hook = hookOf(req, reply);
        if (!hook) return reply;
        const perPage = Math.min(100, Math.max(1, Number(req.query.per_page) || 30));
        const cursor = req.query.cursor;
        const before = cursor === undefined ? undefined : CURSOR.exec(cursor)?.[1];
        if (cursor !== undefined && before === undefined) {
          return reply.code(400).send({ message: 'Invalid cursor', documentation_url: DOCS });
        }
        const rest = repos.hooks
          .deliveriesOf(hook.id)
          .filter((d) => before === undefined || d.id < Number(before));
        const page = rest.slice(0, perPage);
        if (rest.length > perPage) {
          const next = `${base(req)}${prefixOf(req)}/hooks/${hook.id}/deliveries?per_page=${perPage}&cursor=v1_${page.at(-1)!.id}`;
          void reply.header('link', `<${next}>; rel="next"`);
        }
        return reply.send(page.map(summary));
      });

      app.get(
        `${prefix}/hooks/:hook_id/deliveries/:delivery_id`,
        async (req: HookRequest, reply) => {
          const delivery = deliveryOf(req, reply);
          if (!delivery) return reply;
          const hook = repos.hooks.hookById(delivery.hookId)!;
          return reply.send({
            ...summary(delivery),
            url: hook.url,
            request: {
              headers: delivery.request.headers,
              payload: JSON.parse(delivery.request.body) as unknown,
            },
            response: { headers: delivery.response.headers, payload: delivery.response.body },
          });
        },
      );

      app.post(
        `${prefix}/hooks/:hook_id/deliveries/:delivery_id/attempts`,
        async (req: HookRequest, reply) => {
          const delivery = deliveryOf(req, reply, true);
          if (!delivery) return reply;
          await reply.code(202).send({});
          // GitHub sends it moments after accepting the request; a failure is recorded like any.
          void repos.hooks.redeliver(delivery);
          return reply;
        },
      );
    }
  };
}
