import type { FastifyRequest } from 'fastify';
import { GitHubReposState } from '../sandbox/github/github-repos-state';
import { GitHubRoutes } from '../sandbox/github/github-simulator';
import { githubRepoRoutes } from '../sandbox/github/repos.routes';

/**
 * The GitHub simulator's repository routes, timed: from the request's arrival
 * to the end of its response, summed, so the bridge's own share of an action
 * is its total time minus what the simulator spent on it.
 */
export function repoRoutes(repos: GitHubReposState): {
  routes: GitHubRoutes;
  busyMs: () => number;
} {
  let busy = 0;
  const started = new WeakMap<FastifyRequest, number>();
  const routes: GitHubRoutes = (app, state) => {
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
  return { routes, busyMs: () => busy };
}
