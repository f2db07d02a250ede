import type { FastifyRequest } from 'fastify';
import { GitHubRoutes } from '../sandbox/github/github-simulator';

/**
 * Hooks for the GitHub simulator (served before its routes) that time every
 * request from its arrival to the end of its response, summed, so the
 * bridge's own share of an action is its total time minus what the simulator
 * spent on it; and when each comment arrived, for the reply benchmark.
 */
export function githubTiming(): {
  hooks: GitHubRoutes;
  busyMs: () => number;
  /** When a comment with this text arrived (performance.now()), if it did. */
  commentArrivedAt: (body: string) => number | undefined;
} {
  let busy = 0;
  const started = new WeakMap<FastifyRequest, number>();
  const comments = new Map<string, number>();
  const hooks: GitHubRoutes = (app) => {
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
  };
  return { hooks, busyMs: () => busy, commentArrivedAt: (body) => comments.get(body) };
}
