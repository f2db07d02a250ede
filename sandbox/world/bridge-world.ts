import type { ModuleMetadata } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app.config';
import { FlowdockSimulator } from '../flowdock/flowdock-simulator';
import { SimSource, SimUser as FlowdockUser } from '../flowdock/flowdock-state';
import { GitHubOAuthState } from '../github/github-oauth-state';
import { GitHubReposState } from '../github/github-repos-state';
import { GitHubRoutes, GitHubSimulator } from '../github/github-simulator';
import { SimUser as GitHubUser } from '../github/github-state';
import { githubOAuthRoutes } from '../github/oauth.routes';
import { githubReposPageRoutes } from '../github/repos-page.routes';
import { githubRepoRoutes } from '../github/repos.routes';
import { linkUsers } from './link-users';
import { freePort, MAIN, run, Spawned, stop, waitForStatus } from './processes';

export interface BridgeWorldOptions {
  /**
   * Where the bridge runs: `listening` in this process on its port (the demo),
   * `injected` in this process without a port, for `app.inject()` (tests),
   * `process` the production build (dist/src/main.js) as a child process on
   * its port (benchmarks; `npm run build` first).
   */
  bridge: 'listening' | 'injected' | 'process';
  /**
   * The bridge's environment: its database (DATABASE_URL, else the embedded
   * one in DATA_DIR), NODE_ENV, LOG_LEVEL, PUBLIC_URL… The world adds the
   * simulators' URLs, PUBLIC_URL (the bridge's address, when it listens) and
   * the OAuth apps and secrets that `env` leaves out (random ones); `env` wins.
   */
  env: Record<string, string>;
  /** Unset or 0: a free port. */
  ports?: { bridge?: number; flowdock?: number; github?: number };
  flowdockUsers?: FlowdockUser[];
  githubUsers?: GitHubUser[];
  /** Expiring GitHub tokens of this lifetime (a GitHub App); unset: OAuth App tokens. */
  githubTokenTtlMs?: number;
  /** Route groups the GitHub simulator serves before its own (hooks among them see every request). */
  githubRoutes?: GitHubRoutes[];
  /** The GitHub simulator's web pages of its repositories, for a person to click through. */
  githubPages?: boolean;
  /**
   * A Flowdock flow given to the bridge as its default source
   * (FLOWDOCK_FLOW_TOKEN); `hearReplies`: with a Flowdock user of its own
   * reading the flow's stream (FLOWDOCK_FLOW, FLOWDOCK_STREAM_TOKEN).
   */
  defaultSource?: { hearReplies?: boolean };
  /**
   * GitHub users (of `githubUsers`) linked to Flowdock user ids before the
   * bridge starts, with a `repo` token each, as the OAuth callback links them.
   */
  links?: { flowdockUserId: string; githubUserId: number }[];
  /** A repository on the GitHub simulator that every linked user may write to, with pull requests 1..pulls. */
  repository?: { name: string; pulls?: number };
  /** In this process: where the bridge logs (default: stdout). */
  logStream?: DestinationStream;
  /** A child process: node options for it. */
  nodeArgs?: string[];
}

const secret = () => randomBytes(32).toString('hex');

/** The bridge in this process, listening on `port` or (without one) ready for `app.inject()`. */
export async function startBridgeInProcess(
  env: Record<string, string>,
  options: {
    port?: number;
    logStream?: DestinationStream;
    imports?: ModuleMetadata['imports'];
  } = {},
): Promise<{ app: NestFastifyApplication; config: AppConfig }> {
  const { config } = loadConfig(env);
  const app = await createApp(config, { imports: options.imports, logStream: options.logStream });
  try {
    if (options.port !== undefined) {
      await app.listen({ port: options.port, host: '127.0.0.1' });
    } else {
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
    }
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return { app, config };
}

/**
 * The bridge with the Flowdock and GitHub simulators on loopback, pointed at
 * each other: the bridge's Flowdock and GitHub are the simulators, with OAuth
 * apps registered on both. The demo, the benchmarks and the end-to-end tests
 * all build theirs here; what differs between them is in the options.
 */
export async function startBridgeWorld(
  options: BridgeWorldOptions & { bridge: 'process' },
): Promise<ProcessWorld>;
export async function startBridgeWorld(options: BridgeWorldOptions): Promise<InProcessWorld>;
export async function startBridgeWorld(
  options: BridgeWorldOptions,
): Promise<InProcessWorld | ProcessWorld> {
  const flowdockApp = {
    clientId: options.env.FLOWDOCK_CLIENT_ID ?? `flowdock-app-${secret().slice(0, 8)}`,
    clientSecret: options.env.FLOWDOCK_CLIENT_SECRET ?? secret(),
  };
  const githubApp = {
    clientId: options.env.GITHUB_CLIENT_ID ?? `Iv1.${secret().slice(0, 16)}`,
    clientSecret: options.env.GITHUB_CLIENT_SECRET ?? secret(),
    tokenTtlMs: options.githubTokenTtlMs,
  };

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const flowdock = await FlowdockSimulator.start({
      ...flowdockApp,
      port: options.ports?.flowdock,
      users: options.flowdockUsers,
    });
    stops.push(() => flowdock.stop());
    const githubOAuth = new GitHubOAuthState(githubApp);
    // Repositories for the actions the bridge performs (the caller adds them, or `repository`).
    const repos = new GitHubReposState();
    const github = await GitHubSimulator.start({
      port: options.ports?.github,
      users: options.githubUsers,
      routes: [
        ...(options.githubRoutes ?? []),
        githubOAuthRoutes(githubOAuth),
        githubRepoRoutes(repos),
        ...(options.githubPages ? [githubReposPageRoutes(repos)] : []),
      ],
    });
    stops.push(() => github.stop());

    /** A token of the Flowdock user `id` (made if new), as the simulator's OAuth app grants it. */
    const flowdockToken = (id: number): string => {
      const { state } = flowdock;
      if (!state.users.has(id)) {
        state.users.set(id, {
          id,
          nick: `user${id}`,
          name: `User ${id}`,
          email: `user${id}@example.com`,
        });
      }
      return state.issueTokens(id, flowdockApp.clientId, 'flow offline_access').access_token;
    };

    let source: SimSource | undefined;
    let flow: string | undefined;
    const sourceEnv: Record<string, string> = {};
    if (options.defaultSource) {
      source = flowdock.state.addSource();
      const simFlow = flowdock.state.flows.get(source.flowId)!;
      flow = `${simFlow.organization}/${simFlow.flow}`;
      sourceEnv.FLOWDOCK_FLOW_TOKEN = source.flowToken;
      if (options.defaultSource.hearReplies) {
        sourceEnv.FLOWDOCK_FLOW = flow;
        sourceEnv.FLOWDOCK_STREAM_TOKEN = flowdockToken(9_000_000);
      }
    }

    const listens = options.bridge !== 'injected';
    const port = listens ? options.ports?.bridge || (await freePort()) : undefined;
    const url = port === undefined ? undefined : `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      ...(url ? { PUBLIC_URL: url } : {}),
      COOKIE_SECRET: secret(),
      TOKEN_ENCRYPTION_KEY: secret(),
      FLOWDOCK_API_URL: flowdock.url,
      // The simulator serves the streaming API on the same address.
      FLOWDOCK_STREAM_URL: flowdock.url,
      FLOWDOCK_CLIENT_ID: flowdockApp.clientId,
      FLOWDOCK_CLIENT_SECRET: flowdockApp.clientSecret,
      GITHUB_URL: github.url,
      GITHUB_API_URL: github.url,
      GITHUB_CLIENT_ID: githubApp.clientId,
      GITHUB_CLIENT_SECRET: githubApp.clientSecret,
      ...sourceEnv,
      ...options.env,
    };

    const links = options.links ?? [];
    const linked =
      links.length === 0
        ? []
        : await linkUsers(
            env,
            links.map((link) => {
              const user = github.state.users.get(link.githubUserId);
              if (!user) throw new Error(`No GitHub user ${link.githubUserId} to link`);
              return {
                flowdockUserId: link.flowdockUserId,
                github: { id: user.id, login: user.login },
                accessToken: github.state.issueToken(user.id, githubApp.clientId, ['repo']),
              };
            }),
          );

    let repository: string | undefined;
    if (options.repository) {
      repository = options.repository.name;
      const writers = links.map((link) => github.state.users.get(link.githubUserId)!.login);
      repos.addRepo(repository, {
        permissions: Object.fromEntries(writers.map((login) => [login, 'write' as const])),
      });
      for (let n = 1; n <= (options.repository.pulls ?? 0); n++)
        repos.addItem(repository, { number: n, kind: 'pull' });
    }

    const common = {
      env,
      flowdock,
      github,
      githubOAuth,
      repos,
      source,
      flow,
      repository,
      linked,
      flowdockToken,
      stop: stopAll,
    };
    if (options.bridge === 'process') {
      const bridge = run(MAIN, { ...env, HOST: '127.0.0.1', PORT: String(port) }, [], {
        nodeArgs: options.nodeArgs,
        cwd: process.cwd(),
        reportFailure: true,
      });
      stops.push(() => stop(bridge));
      const startupMs = await waitForStatus(`${url}/health/ready`, 200, bridge, 120_000, 10);
      return { ...common, url: url!, process: bridge, startupMs };
    }
    const { app, config } = await startBridgeInProcess(env, {
      port,
      logStream: options.logStream,
    });
    stops.push(() => app.close());
    return { ...common, url, app, config };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

interface World {
  /** What the bridge was started with. */
  env: Record<string, string>;
  flowdock: FlowdockSimulator;
  github: GitHubSimulator;
  githubOAuth: GitHubOAuthState;
  repos: GitHubReposState;
  /** With `defaultSource`: its source and flow ("organization/flow"). */
  source?: SimSource;
  flow?: string;
  repository?: string;
  /** The Flowdock user ids of `links`, linked. */
  linked: string[];
  /** A Flowdock access token of this user (made if new), to act in the flows. */
  flowdockToken: (flowdockUserId: number) => string;
  /** Stops the bridge, then the simulators. */
  stop: () => Promise<void>;
}

export interface InProcessWorld extends World {
  /** Where it listens; undefined for `injected`. */
  url: string | undefined;
  app: NestFastifyApplication;
  config: AppConfig;
}

export interface ProcessWorld extends World {
  url: string;
  process: Spawned;
  /** From the start of the process to its first ready answer. */
  startupMs: number;
}
