import formbody from '@fastify/formbody';
import Fastify, { FastifyInstance } from 'fastify';
import { AddressInfo } from 'node:net';
import { GitHubState, SimUser } from './github-state';

/** A group of simulator routes over the shared state (OAuth, REST, webhooks…). */
export type GitHubRoutes = (app: FastifyInstance, state: GitHubState) => void;

export interface GitHubSimulatorOptions {
  port?: number;
  users?: SimUser[];
  routes?: GitHubRoutes[];
}

/**
 * A GitHub stand-in on loopback, for tests and the sandbox demo. It serves
 * both the web endpoints (OAuth) and the REST API (GITHUB_URL and
 * GITHUB_API_URL both point at `url`), and rejects what GitHub rejects.
 */
export class GitHubSimulator {
  private constructor(
    readonly app: FastifyInstance,
    readonly state: GitHubState,
    readonly url: string,
  ) {}

  static async start(options: GitHubSimulatorOptions = {}): Promise<GitHubSimulator> {
    const state = new GitHubState(options.users);
    // Stopping closes every connection, also one whose caller gave up on a slow answer.
    const app = Fastify({ logger: false, forceCloseConnections: true });
    await app.register(formbody);
    for (const routes of options.routes ?? []) routes(app, state);
    await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return new GitHubSimulator(app, state, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
