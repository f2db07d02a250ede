import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { SimSource } from '../sandbox/flowdock/flowdock-state';
import { GitHubReposState } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { repoRoutes } from './github-timing';
import { freePort, freshDataDir, profiling, rssMiB, start, stop, waitReady } from './processes';
import { benchEnvironment } from './flowdock-bench-db';
import { linkUsers } from './link-users';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

/** Flowdock users linked to GitHub users for the action benchmark, one GitHub user each. */
export const BENCH_USERS = 10;

export interface BridgeWorld {
  url: string;
  child: ChildProcess;
  env: Record<string, string>;
  flowdock: FlowdockSimulator;
  source: SimSource;
  github: GitHubSimulator;
  repos: GitHubReposState;
  /** Milliseconds the GitHub simulator spent handling requests so far (summed over requests). */
  githubBusyMs: () => number;
  /** When the GitHub simulator received a comment with this text (performance.now()). */
  commentArrivedAt: (body: string) => number | undefined;
  /** Flowdock access tokens of the linked users (same order as `users`), to write in threads. */
  flowdockTokens: string[];
  /** The default source's flow, "organization/flow". */
  flow: string;
  /** Flowdock user ids with a link, and the repository they may act on. */
  users: string[];
  repository: string;
  startupMs: number;
  idleRssMiB: number;
  /** The bridge's DATA_DIR (where the embedded database keeps its files). */
  dataDir: string;
  close(): Promise<void>;
}

/**
 * The bridge as a process of its own (the production build) on `databaseUrl`
 * (undefined: the embedded database in a fresh DATA_DIR),
 * with the Flowdock simulator as its Flowdock (the default source's flow
 * token is FLOWDOCK_FLOW_TOKEN) and the GitHub simulator as its GitHub API,
 * and BENCH_USERS Flowdock users linked through LinkedAccountService.
 */
export async function startBridgeWorld(
  databaseUrl: string | undefined,
  runId: string,
  profile = 'world',
  options: { hearReplies?: boolean } = {},
): Promise<BridgeWorld> {
  const flowdock = await FlowdockSimulator.start({
    clientId: 'bench-flowdock-client',
    clientSecret: 'bench-flowdock-secret-0123456789abcdef01234',
  });
  const source = flowdock.state.addSource();
  const simFlow = flowdock.state.flows.get(source.flowId)!;
  const flow = `${simFlow.organization}/${simFlow.flow}`;
  const users = Array.from({ length: BENCH_USERS }, (_, i) => ({
    id: 7_000_000 + i,
    login: `bench-${runId}-${i}`,
    name: `Bench ${i}`,
  }));
  const repos = new GitHubReposState();
  const repository = `bench-${runId}/actions`;
  repos.addRepo(repository, {
    permissions: Object.fromEntries(users.map((u) => [u.login, 'write' as const])),
  });
  for (let n = 1; n <= 200; n++) repos.addItem(repository, { number: n, kind: 'pull' });
  const timing = repoRoutes(repos);
  const github = await GitHubSimulator.start({ users, routes: [timing.routes] });

  const port = await freePort();
  const dataDir = freshDataDir('bench-world-');
  const env = benchEnvironment(databaseUrl, dataDir, {
    FLOWDOCK_API_URL: flowdock.url,
    FLOWDOCK_FLOW_TOKEN: source.flowToken,
    GITHUB_API_URL: github.url,
    GITHUB_URL: github.url,
    ...(options.hearReplies ? streamEnvironment(flowdock, flow) : {}),
  });
  const linked = await linkUsers(
    env,
    users.map((u, i) => ({
      flowdockUserId: String(8_000_000 + i),
      github: { id: u.id, login: u.login },
      accessToken: github.state.issueToken(u.id, env.GITHUB_CLIENT_ID, ['repo']),
    })),
  );
  const child = start(
    MAIN,
    { ...env, NODE_ENV: 'development', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port) },
    profiling(profile),
  );
  const url = `http://127.0.0.1:${port}`;
  const startupMs = await waitReady(`${url}/health/ready`, child);
  await new Promise((r) => setTimeout(r, 1000));
  return {
    url,
    child,
    env,
    flowdock,
    source,
    github,
    repos,
    githubBusyMs: timing.busyMs,
    commentArrivedAt: timing.commentArrivedAt,
    flowdockTokens: linked.map((id) => flowdockUser(flowdock, Number(id))),
    flow,
    users: linked,
    repository,
    startupMs,
    idleRssMiB: rssMiB(child.pid!),
    dataDir,
    async close() {
      await stop(child);
      await flowdock.stop();
      await github.stop();
    },
  };
}

/** The bridge hears the flow's stream as a Flowdock user of its own (FLOWDOCK_STREAM_TOKEN). */
function streamEnvironment(flowdock: FlowdockSimulator, flow: string): Record<string, string> {
  return {
    FLOWDOCK_FLOW: flow,
    FLOWDOCK_STREAM_URL: flowdock.url,
    FLOWDOCK_STREAM_TOKEN: flowdockUser(flowdock, 9_000_000),
  };
}

/** A Flowdock user of the simulator with this id (made if new), and an access token of theirs. */
function flowdockUser(flowdock: FlowdockSimulator, id: number): string {
  const { state } = flowdock;
  if (!state.users.has(id)) {
    state.users.set(id, {
      id,
      nick: `user${id}`,
      name: `User ${id}`,
      email: `user${id}@example.com`,
    });
  }
  return state.issueTokens(id, 'bench-flowdock-client', 'flow offline_access').access_token;
}
