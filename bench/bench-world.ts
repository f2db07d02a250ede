import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessWorld, startBridgeWorld } from '../sandbox/world/bridge-world';
import { SimSource } from '../sandbox/flowdock/flowdock-state';
import { benchEnvironment, freshDataDir } from './bench-setup';
import { githubTiming } from './github-timing';
import { profiling, rssMiB } from './measure';

/** Flowdock users linked to GitHub users for the action benchmark, one GitHub user each. */
const BENCH_USERS = 10;

export interface BenchWorld extends ProcessWorld {
  source: SimSource;
  flow: string;
  repository: string;
  /** Flowdock user ids with a link, allowed to write to `repository`. */
  users: string[];
  /** Flowdock access tokens of the linked users (same order as `users`), to write in threads. */
  flowdockTokens: string[];
  /** Milliseconds the GitHub simulator spent handling requests so far (summed over requests). */
  githubBusyMs: () => number;
  /** When the GitHub simulator received a comment with this text (performance.now()). */
  commentArrivedAt: (body: string) => number | undefined;
  idleRssMiB: number;
  /** The bridge's DATA_DIR (where the embedded database keeps its files). */
  dataDir: string;
}

/**
 * The world of the bench (sandbox/world) with what the bench measures: the
 * bridge as a process of its own (the production build) on `databaseUrl`
 * (undefined: the embedded database in a fresh DATA_DIR), the default
 * source's flow as its Flowdock flow, BENCH_USERS Flowdock users linked, a
 * repository of 200 pull requests they may write to, and the GitHub
 * simulator's time measured.
 */
export async function startBenchWorld(
  databaseUrl: string | undefined,
  runId: string,
  profile = 'world',
  options: { hearReplies?: boolean } = {},
): Promise<BenchWorld> {
  const timing = githubTiming();
  const dataDir = freshDataDir('bench-world-');
  const githubUsers = Array.from({ length: BENCH_USERS }, (_, i) => ({
    id: 7_000_000 + i,
    login: `bench-${runId}-${i}`,
    name: `Bench ${i}`,
  }));
  const world = await startBridgeWorld({
    bridge: 'process',
    nodeArgs: profiling(profile),
    env: benchEnvironment(databaseUrl, dataDir, { NODE_ENV: 'development', LOG_LEVEL: 'warn' }),
    githubUsers,
    githubRoutes: [timing.hooks],
    defaultSource: { hearReplies: options.hearReplies },
    links: githubUsers.map((u, i) => ({
      flowdockUserId: String(8_000_000 + i),
      githubUserId: u.id,
    })),
    repository: { name: `bench-${runId}/actions`, pulls: 200 },
  });
  await sleep(1000);
  return {
    ...world,
    source: world.source!,
    flow: world.flow!,
    repository: world.repository!,
    users: world.linked,
    flowdockTokens: world.linked.map((id) => world.flowdockToken(Number(id))),
    githubBusyMs: timing.busyMs,
    commentArrivedAt: timing.commentArrivedAt,
    idleRssMiB: rssMiB(world.process.child.pid!),
    dataDir,
  };
}
