/**
 * `npm run demo`: the bridge on the embedded database (./data/demo, wiped at
 * each start because the simulators start empty) with the Flowdock and GitHub
 * simulators, on loopback. Ports: DEMO_BRIDGE_PORT (3000), DEMO_FLOWDOCK_PORT
 * (3001), DEMO_GITHUB_PORT (3002); DEMO_DATA_DIR, LOG_LEVEL (warn).
 */
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import { DEMO_REPOSITORY, startDemo } from './demo-world';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name} must be a port number (1-65535), not "${raw}"`);
  }
  return value;
}

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = resolve(process.env.DEMO_DATA_DIR ?? './data/demo');
  const demo = await startDemo({
    ports: {
      bridge: port('DEMO_BRIDGE_PORT', 3000),
      flowdock: port('DEMO_FLOWDOCK_PORT', 3001),
      github: port('DEMO_GITHUB_PORT', 3002),
    },
    dataDir,
    freshDataDir: true,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      process.stderr.write('Stopping anyway.\n');
      process.exit(130);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the bridge and the simulators…\n`);
    await demo.stop();
    process.stdout.write('Stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  // The seed webhooks are in; the delivery worker posts their threads to Flowdock.
  const deadline = Date.now() + 30_000;
  let firstThreadAt: number | undefined;
  while (demo.flowdock.state.threads.size < demo.seededThreads && Date.now() < deadline) {
    if (firstThreadAt === undefined && demo.flowdock.state.threads.size > 0)
      firstThreadAt = Date.now();
    await sleep(50);
  }
  const threads = demo.flowdock.state.threads.size;
  firstThreadAt ??= threads > 0 ? Date.now() : undefined;
  const seconds = (at: number) => ((at - started) / 1000).toFixed(1);
  const timing =
    firstThreadAt === undefined
      ? 'no thread in the inbox yet: see the bridge log'
      : `first thread after ${seconds(firstThreadAt)} s, ${threads} after ${seconds(Date.now())} s`;

  process.stdout.write(`
Flowdock <-> GitHub bridge sandbox is running (${timing}).

  Flowdock team inbox   ${demo.inboxUrl}
  GitHub (simulated)    ${demo.githubPageUrl}
  Bridge                ${demo.bridgeUrl}   (account page: ${demo.bridgeUrl}/account)

What to click:
  1. In the inbox, pick who you are (Alice), then "Assign to me" on a thread.
     You are not linked yet: the inbox shows a link. Open it.
  2. Approve on the Flowdock page (you are pre-selected), then on the GitHub
     page pick octocat and authorize: the bridge does the click you made
     ("You are now assigned to ..."), the GitHub page shows octocat assigned
     and the thread shows the assignee.
  3. Back in the inbox, "Close": the thread turns red "closed" with a
     "Reopen" action. Linked now, every click acts at once.
  4. On the GitHub page, open a pull request or comment on ${DEMO_REPOSITORY}:
     the inbox follows within a second or two.
  (monalisa has only read access: linking as her shows what a refusal looks like.)

Data: ${dataDir} (recreated at each start). Ctrl-C stops everything.
`);
}

main().catch((error: unknown) => {
  process.stderr.write(`The demo failed to start: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
