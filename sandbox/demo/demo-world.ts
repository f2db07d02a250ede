import type { DestinationStream } from 'pino';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createDataDir } from '../../src/config/data-dir';
import { FlowdockSourceService } from '../../src/flowdock/flowdock-source.service';
import { SubscriptionService } from '../../src/subscriptions/subscription.service';
import { SimUser as FlowdockUser } from '../flowdock/flowdock-state';
import { SimUser as GitHubUser } from '../github/github-state';
import { SimItem } from '../github/github-repos-state';
import { emitItemEvent } from '../github/repos.routes';
import { startBridgeWorld } from '../world/bridge-world';

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
 * The whole sandbox: the bridge (in this process, listening) plus the
 * Flowdock and GitHub simulators on loopback (sandbox/world), with a source
 * registered for the flow, a subscription of the demo repository to it, and
 * the repository's open pull requests and issues sent as `opened` webhooks.
 * `npm run demo` and the browser test both start it.
 */
export async function startDemo(options: DemoOptions) {
  await checkPort(options.ports.bridge, 'bridge', 'DEMO_BRIDGE_PORT');
  await checkPort(options.ports.flowdock, 'Flowdock simulator', 'DEMO_FLOWDOCK_PORT');
  await checkPort(options.ports.github, 'GitHub simulator', 'DEMO_GITHUB_PORT');
  if (options.freshDataDir) recreateDemoDataDir(options.dataDir);

  const repository = options.repository ?? DEMO_REPOSITORY;
  const webhookSecret = secret();
  const world = await startBridgeWorld({
    bridge: 'listening',
    ports: options.ports,
    flowdockUsers: options.flowdockUsers,
    githubUsers: options.githubUsers,
    githubPages: true,
    logStream: options.logStream,
    env: {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATA_DIR: options.dataDir,
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      FLOWDOCK_CLIENT_ID: 'sandbox-flowdock-app',
      FLOWDOCK_DELIVERY_POLL_MS: '250',
      GITHUB_CLIENT_ID: 'Iv1.sandboxgithubapp',
      GITHUB_WEBHOOK_SECRET: webhookSecret,
      ...options.env,
    },
  });
  const { app: bridge, flowdock, github, repos } = world;
  const bridgeUrl = world.url!;
  try {
    repos.addRepo(repository, {
      permissions: { octocat: 'write', hubot: 'triage', monalisa: 'read' },
    });
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
      world.env.FLOWDOCK_CLIENT_ID,
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
      stop: world.stop,
    };
  } catch (error) {
    await world.stop();
    throw error;
  }
}

export type Demo = Awaited<ReturnType<typeof startDemo>>;
