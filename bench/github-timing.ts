import type { FastifyRequest } from 'fastify';
import { GitHubReposState } from '../sandbox/github/github-repos-state';
import { GitHubRoutes } from '../sandbox/github/github-simulator';
import { githubRepoRoutes } from '../sandbox/github/repos.routes';

/**
 * The GitHub simulator's repository routes, timed: from the request's arrival
 * to the end of its response, summed, so the bridge's own share of an action
 * is its total time minus what the simulator spent on it; and when each
 * comment arrived, for the reply benchmark.
 */
export function repoRoutes(repos: GitHubReposState): {
  routes: GitHubRoutes;
  busyMs: () => number;
  /** When a comment with this text arrived (performance.now()), if it did. */
  commentArrivedAt: (body: string) => number | undefined;
} {
  let busy = 0;
  const started = new WeakMap<FastifyRequest, number>();
  const comments = new Map<string, number>();
  const routes: GitHubRoutes = (app, state) => {
    app.addHook('preHandler', (request, _reply, done) => {
      const body = (request.body as { body?: unknown } | undefined)?.body;
      if (
        request.method === 'POST' &&
        request.url.endsWith('/comments') &&
        typeof body === 'string'
      ) {
        comments.set(body, started.get(request) ?? performance.now());
      }
      done();
    });
    app.addHook('onRequest', (request, _reply, done) => {
      started.set(request, performance.now());
      done();
    });
    app.addHook('onResponse', (request, _reply, done) => {
      busy += performance.now() - (started.get(request) ?? performance.now());
      done();
    });
    githubRepoRoutes(repos)(app, state);
  };
  return { routes, busyMs: () => busy, commentArrivedAt: (body) => comments.get(body) };
}
