import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchWorld, startBenchWorld } from './bench-world';
import { stopLeftoverServer } from './embedded-server';
import type { FreshDatabase } from '../sandbox/world/databases';
import { benchDatabase, cleanUpOnExit } from './bench-setup';
import { procKiB, progress } from './measure';
import { SoakDatabase } from './soak-database';
import { FAULT_KINDS, FaultKind, FlowdockChaos, GitHubSlowness } from './soak-faults';
import { ActionLoad, WebhookLoad } from './soak-load';
import { LivenessProbe, summarizeLog } from './soak-probe';
import { account, judge } from './soak-report';
import { Running, Sample, sampler } from './soak-sampler';
import { SoakWebhooks } from './soak-webhooks';

/**
 * `npm run soak`: one bridge (bench/bench-world) under a steady load for
 * SOAK_SECONDS — signed webhooks over many items, signed actions of linked
 * users — with a Flowdock that fails some posts (500, timeouts) and
 * rate-limits its flow token (429), and a
 * GitHub that is slow now and then. Samples the bridge every 5 s, then stops
 * the load, waits for the backlog to drain and judges: nothing lost, nothing
 * posted twice, no 5xx, memory and backlog flat. See bench/README.md, "Soak".
 */
const ROOT = join(__dirname, '..', '..');
const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

const setting = (name: string, fallback: number, min: number, max: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number`);
  return Math.min(max, Math.max(min, value));
};

const SETTINGS = {
  seconds: setting('SOAK_SECONDS', 600, 10, 7200),
  database: (process.env.SOAK_DATABASE ?? 'server') as 'server' | 'embedded',
  webhooksPerSecond: setting('SOAK_WEBHOOK_RATE', 200, 1, 2000),
  actionsPerSecond: setting('SOAK_ACTION_RATE', 5, 0, 100),
  flowdockFaultRate: setting('SOAK_FAULT_RATE', 0.05, 0, 0.5),
  flowdockFaults: (process.env.SOAK_FAULTS ?? FAULT_KINDS.join(','))
    .split(',')
    .map((k) => k.trim()) as FaultKind[],
  /** Posts a second the simulated Flowdock allows a flow token (429 above); 0: no limit. */
  flowdockPostsPerSecond: setting('SOAK_FLOWDOCK_RATE_LIMIT', 230, 0, 100_000),
  drainSeconds: setting('SOAK_DRAIN_SECONDS', 180, 10, 3600),
  /** Items (pull requests and issues) changing at the same time. */
  activeItems: 1_000,
  sampleSeconds: 5,
  /** The RSS slope is taken from here on (earlier: the heap is still growing to its working size). */
  warmSeconds: 60,
  /** Longer than the bridge's FLOWDOCK_TIMEOUT_MS (default 10 s, which bench-world keeps). */
  flowdockHangMs: 12_000,
  /** Each second, the chance that GitHub turns slow for 1–3 s. */
  githubSlowChance: 0.1,
  /** Below the bridge's GITHUB_TIMEOUT_MS (default 8 s). */
  githubMaxDelayMs: 4_000,
  /** Growth of the backlog over the second half of the load that still counts as flat: one item a second. */
  backlogSlopeLimitPerMinute: 60,
  rssSlopeLimitMiBPerMinute: 1,
  /** Threads the bridge's delivery worker posts for at once (CONCURRENT_THREADS). */
  deliveryPlaces: 64,
};

if (SETTINGS.database !== 'server' && SETTINGS.database !== 'embedded') {
  throw new Error('SOAK_DATABASE must be server or embedded');
}
if (SETTINGS.flowdockFaults.some((k) => !FAULT_KINDS.includes(k))) {
  throw new Error(`SOAK_FAULTS must list some of ${FAULT_KINDS.join(', ')}`);
}

/** Samples every SAMPLE_SECONDS until `done` says stop (checked every second). */
async function sampleUntil(
  take: (phase: 'load' | 'drain') => Promise<Sample>,
  phase: 'load' | 'drain',
  samples: Sample[],
  done: () => Promise<boolean>,
): Promise<void> {
  let next = performance.now() + SETTINGS.sampleSeconds * 1000;
  while (!(await done())) {
    if (performance.now() >= next) {
      const sample = await take(phase);
      samples.push(sample);
      progress(
        `${phase} t=${sample.t}s rss=${sample.rssMiB} MiB backlog=${sample.backlog} ` +
          `(${sample.pendingDeliveries}+${sample.pendingMessages}) live p50/max=${sample.liveP50Ms}/${sample.liveMaxMs} ms ` +
          `in ${sample.webhooksPerSecond}/s out ${sample.deliveredPerSecond}/s db=${sample.dbConnections} ` +
          `cpu=${sample.bridgeCpuPercent}% own cpu=${sample.soakCpuPercent}% loop-p99=${sample.soakLoopP99Ms} ms load=${sample.loadAverage}`,
      );
      next += SETTINGS.sampleSeconds * 1000;
    }
    await sleep(Math.min(1000, Math.max(0, next - performance.now())));
  }
}

async function soak(): Promise<boolean> {
  progress(`soak: ${SETTINGS.seconds} s on the ${SETTINGS.database} database`);
  let database: FreshDatabase | undefined;
  let world: BenchWorld | undefined;
  let reader: SoakDatabase | undefined;
  try {
    if (SETTINGS.database === 'server') database = await benchDatabase();
    world = await startBenchWorld(database?.url, RUN_ID, 'soak');
    reader = await SoakDatabase.connect(database?.url, world.dataDir);
    const items = new SoakWebhooks(
      `soak-${RUN_ID}/app`,
      world.env.GITHUB_WEBHOOK_SECRET,
      SETTINGS.activeItems,
    );
    const run: Running = {
      world,
      database: reader,
      webhooks: new WebhookLoad(world.url, items, SETTINGS.webhooksPerSecond),
      actions: new ActionLoad(world, SETTINGS.actionsPerSecond),
      chaos: new FlowdockChaos(
        world.flowdock.state,
        SETTINGS.flowdockFaultRate,
        SETTINGS.flowdockHangMs,
        SETTINGS.flowdockFaults,
        SETTINGS.flowdockPostsPerSecond,
      ),
      probe: new LivenessProbe(world.url),
    };
    const slowness = new GitHubSlowness(
      world.repos,
      SETTINGS.githubSlowChance,
      SETTINGS.githubMaxDelayMs,
    );
    const startRssMiB = procKiB(world.process.child.pid!, 'status', 'VmRSS') / 1024;
    const samples: Sample[] = [];
    const loadStarted = performance.now();
    const take = sampler(run, loadStarted);
    run.webhooks.start();
    if (SETTINGS.actionsPerSecond > 0) run.actions.start();
    const bridgeUp = () =>
      world!.process.child.exitCode === null && world!.process.child.signalCode === null;

    await sampleUntil(take, 'load', samples, async () => {
      return performance.now() - loadStarted >= SETTINGS.seconds * 1000 || !bridgeUp();
    });
    samples.push(await take('load'));
    // The drain is timed from here: answers still due come in during it.
    const loadEnded = performance.now();
    progress('load stopped; waiting for the answers still due');
    await Promise.all([run.webhooks.stop(), run.actions.stop()]);
    await run.webhooks.close();
    slowness.stop();

    progress(`draining (at most ${SETTINGS.drainSeconds} s)`);
    let drainedAt: number | undefined;
    await sampleUntil(take, 'drain', samples, async () => {
      if (!bridgeUp()) return true;
      if (performance.now() - loadEnded > SETTINGS.drainSeconds * 1000) return true;
      const backlog = await reader!.backlog().catch(() => undefined);
      if (backlog && backlog.pendingDeliveries === 0 && backlog.pendingMessages === 0) {
        drainedAt = performance.now();
        return true;
      }
      return false;
    });
    samples.push(await take('drain'));
    await run.probe.stop();
    run.chaos.stop();

    const counts = account(run, {
      deliveries: await reader.deliveries(),
      messages: await reader.messages(),
      soakRepository: items.repository,
      itemsOpened: items.opened,
      githubSlowSpells: slowness.spells,
      log: summarizeLog(world.process),
    });
    const result = judge(SETTINGS, samples, counts, {
      loadSeconds: (loadEnded - loadStarted) / 1000,
      drainSeconds: drainedAt === undefined ? null : (drainedAt - loadEnded) / 1000,
      bridgeUp: bridgeUp(),
      startRssMiB,
    });
    const report = {
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      settings: SETTINGS,
      ...result,
      samples,
    };
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'soak.json'), JSON.stringify(report, null, 2) + '\n');
    printReport(samples, result);
    console.log('Written to bench/results/soak.json');
    return result.verdict.pass;
  } finally {
    await reader?.end();
    await world?.stop();
    if (world && SETTINGS.database === 'embedded') await stopLeftoverServer(world.dataDir);
    await database?.drop();
  }
}

function printReport(samples: Sample[], result: ReturnType<typeof judge>): void {
  // One sample a minute, and the last.
  const perMinute = samples.filter(
    (s, i) => i === samples.length - 1 || Math.round(s.t) % 60 < SETTINGS.sampleSeconds,
  );
  console.log('\nSamples (one a minute; all of them in the JSON)\n');
  console.table(
    perMinute.map((s) => ({
      't s': s.t,
      phase: s.phase,
      'RSS MiB': s.rssMiB,
      'live p50/max ms': `${s.liveP50Ms}/${s.liveMaxMs}`,
      'pending deliveries': s.pendingDeliveries,
      'pending messages': s.pendingMessages,
      'db conns': s.dbConnections,
      'in /s': s.webhooksPerSecond,
      'out /s': s.deliveredPerSecond,
    })),
  );
  console.log('Summary\n');
  console.table(result.summary);
  console.log(`Verdict: ${result.verdict.pass ? 'PASS' : 'FAIL'}\n`);
  console.table(
    Object.fromEntries(
      Object.entries(result.verdict.checks).map(([name, c]) => [
        name,
        { pass: c.pass, value: c.value, limit: c.limit },
      ]),
    ),
  );
}

cleanUpOnExit();
soak()
  .then((pass) => process.exit(pass ? 0 : 1))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
