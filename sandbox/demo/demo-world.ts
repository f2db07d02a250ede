import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AddressInfo, createServer } from 'node:net';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app.config';
import { createDataDir } from '../../src/config/data-dir';
import { FlowdockSourceService } from '../../src/flowdock/flowdock-source.service';
import { SubscriptionService } from '../../src/subscriptions/subscription.service';
import { FlowdockSimulator } from '../flowdock/flowdock-simulator';
import { SimUser as FlowdockUser } from '../flowdock/flowdock-state';
import { SimUser as GitHubUser } from '../github/github-state';
import { GitHubOAuthState } from '../github/github-oauth-state';
import { GitHubReposState, SimItem } from '../github/github-repos-state';
import { GitHubSimulator } from '../github/github-simulator';
import { githubOAuthRoutes } from '../github/oauth.routes';
import { githubReposPageRoutes } from '../github/repos-page.routes';
import { emitItemEvent, githubRepoRoutes } from '../github/repos.routes';

export const DEMO_REPOSITORY = 'acme/widgets';

/** What the demo repository holds at start: each is announced with its `opened` webhook. */
const SEED: (Partial<SimItem> & Pick<SimItem, 'number' | 'kind'>)[] = [
  {
    number: 1,
    kind: 'pull',
    title: 'Add a dark mode to the settings page',
    body: 'Follows the system preference; a toggle overrides it.',
    author: 'monalisa',
  },
  {
    number: 2,
    kind: 'issue',
    title: 'Search is slow on large repositories',
    body: 'Searching a repository with 50k files takes about 8 s.',
    author: 'hubot',
  },
  {
    number: 3,
    kind: 'pull',
    title: 'Fix the crash when the config file is empty',
    body: 'An empty file now means the defaults.',
    author: 'hubot',
    labels: ['bug'],
  },
  {
    number: 4,
    kind: 'issue',
    title: 'Document the keyboard shortcuts',
    body: null,
    author: 'monalisa',
  },
];

export interface DemoOptions {
  /** 0 picks a free port. */
  ports: { bridge: number; flowdock: number; github: number };
  /** The bridge's database: a PostgreSQL URL, or unset for the embedded one in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  /** Deletes dataDir first: the simulators start empty, so old links and sources would be stale. */
  freshDataDir?: boolean;
  /** Further bridge environment (LOG_LEVEL, NODE_ENV…). */
  env?: Record<string, string>;
  logStream?: DestinationStream;
  /** Tests sharing a database use a repository and user ids of their own. */
  repository?: string;
  flowdockUsers?: FlowdockUser[];
  /** Logins must stay octocat, hubot and monalisa (the seed and permissions name them). */
  githubUsers?: GitHubUser[];
}

export class PortInUseError extends Error {}

/** Fails with a clear message when a fixed port is taken, before anything starts. */
async function checkPort(port: number, what: string, variable: string): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE' || error.code === 'EACCES'
          ? new PortInUseError(
              `Port ${port} for the ${what} is not free (${error.code}): stop what uses it or set ${variable} to another port.`,
            )
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const MARKER = '.sandbox-demo';

/**
 * Empties the demo's data directory, but only one the demo made (it carries a
 * marker): pointing DEMO_DATA_DIR at a real bridge's data must not delete it.
 */
function recreateDemoDataDir(dataDir: string): void {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    if (!existsSync(join(dataDir, MARKER))) {
      throw new Error(
        `${dataDir} holds data the demo did not create; the demo recreates its directory at each start, so choose an empty or new DEMO_DATA_DIR.`,
      );
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  // As the bridge makes DATA_DIR: as root, the embedded server's OS user must get through.
  createDataDir(dataDir);
  writeFileSync(join(dataDir, MARKER), 'Made by npm run demo: deleted at its next start.\n');
}

const secret = () => randomBytes(32).toString('hex');

/**
 * The whole sandbox: the bridge plus the Flowdock and GitHub simulators on
 * loopback, pointed at each other (shared secrets, OAuth apps, webhook target,
 * a subscription of the demo repository to the flow), with the repository's
 * open pull requests and issues sent as `opened` webhooks. `npm run demo` and
 * the browser test both start it.
 */
export async function startDemo(options: DemoOptions) {
  await checkPort(options.ports.bridge, 'bridge', 'DEMO_BRIDGE_PORT');
  await checkPort(options.ports.flowdock, 'Flowdock simulator', 'DEMO_FLOWDOCK_PORT');
  await checkPort(options.ports.github, 'GitHub simulator', 'DEMO_GITHUB_PORT');
  if (options.freshDataDir) recreateDemoDataDir(options.dataDir);

  const repository = options.repository ?? DEMO_REPOSITORY;
  const flowdockApp = { clientId: 'sandbox-flowdock-app', clientSecret: secret() };
  const githubApp = { clientId: 'Iv1.sandboxgithubapp', clientSecret: secret() };
  const webhookSecret = secret();

  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const flowdock = await FlowdockSimulator.start({
      ...flowdockApp,
      port: options.ports.flowdock,
      users: options.flowdockUsers,
    });
    stops.push(() => flowdock.stop());
    const repos = new GitHubReposState();
    repos.addRepo(repository, {
      permissions: { octocat: 'write', hubot: 'triage', monalisa: 'read' },
    });
    const github = await GitHubSimulator.start({
      port: options.ports.github,
      users: options.githubUsers,
      routes: [
        githubOAuthRoutes(new GitHubOAuthState(githubApp)),
        githubRepoRoutes(repos),
        githubReposPageRoutes(repos),
      ],
    });
    stops.push(() => github.stop());

    const bridgePort = options.ports.bridge || (await freePort());
    const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
    const { config } = loadConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      PUBLIC_URL: bridgeUrl,
      DATA_DIR: options.dataDir,
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      FLOWDOCK_API_URL: flowdock.url,
      FLOWDOCK_CLIENT_ID: flowdockApp.clientId,
      FLOWDOCK_CLIENT_SECRET: flowdockApp.clientSecret,
      FLOWDOCK_DELIVERY_POLL_MS: '250',
      FLOWDOCK_STREAM_URL: flowdock.url,
      GITHUB_URL: github.url,
      GITHUB_API_URL: github.url,
      GITHUB_CLIENT_ID: githubApp.clientId,
      GITHUB_CLIENT_SECRET: githubApp.clientSecret,
      GITHUB_WEBHOOK_SECRET: webhookSecret,
      COOKIE_SECRET: secret(),
      TOKEN_ENCRYPTION_KEY: secret(),
      ...options.env,
    });
    const bridge: NestFastifyApplication = await createApp(config, {
      logStream: options.logStream,
    });
    stops.push(() => bridge.close());
    await bridge.listen({ port: bridgePort, host: '127.0.0.1' });

    const source = flowdock.state.addSource(undefined, 'GitHub', bridgeUrl);
    const flow = flowdock.state.flows.get(source.flowId)!;
    // Registered with its flow, as the setup flow does: the flow's members may read the delivery log.
    const sources = bridge.get(FlowdockSourceService);
    const registered = await sources.register({
      flowToken: source.flowToken,
      flow: `${flow.organization}/${flow.flow}`,
      name: repository,
    });
    // Replies in the inbox's threads become GitHub comments: the bridge reads the flow's
    // stream with the grant of the first sandbox user, as if they had set the integration up.
    const reader = [...flowdock.state.users.values()][0];
    const grant = flowdock.state.issueTokens(
      reader.id,
      flowdockApp.clientId,
      'flow offline_access',
    );
    await sources.setStreamGrant(registered.id, {
      accessToken: grant.access_token,
      refreshToken: grant.refresh_token,
      expiresAt: new Date(Date.now() + grant.expires_in * 1000),
    });
    await bridge
      .get(SubscriptionService)
      .add({ repositoryPattern: repository, flowToken: source.flowToken });
    repos.webhookTarget = { url: `${bridgeUrl}/github/webhooks`, secret: webhookSecret };

    const repo = repos.repo(repository)!;
    for (const seed of SEED) {
      const item = repos.addItem(repository, seed);
      const answer = await emitItemEvent(repos, repo, item, item.author, 'opened');
      if (!answer?.ok) {
        throw new Error(
          `The bridge refused the seed webhook for #${item.number}: ${answer?.status}`,
        );
      }
    }

    return {
      bridge,
      bridgeUrl,
      flowdock,
      github,
      repos,
      repository,
      inboxUrl: `${flowdock.url}/`,
      githubPageUrl: `${github.url}/`,
      seededThreads: SEED.length,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export type Demo = Awaited<ReturnType<typeof startDemo>>;
