import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { ActionBench, ActionFigures } from './actions';
import { BenchWorld, startBenchWorld } from './bench-world';
import { ReplyBench, ReplyFigures } from './replies';
import { BURST, DeliveryBench, DeliveryPhase, STEADY_RATE, STEADY_SECONDS } from './delivery';
import {
  connectReadOnly,
  connectToEmbedded,
  ServerMemory,
  ServerMemorySampler,
  serverMemory,
  findPostmaster,
  stopLeftoverServer,
} from './embedded-server';
import type { FreshDatabase } from '../sandbox/world/databases';
import { freePort, stop } from '../sandbox/world/processes';
import { benchDatabase, cleanUpOnExit, freshDataDir, startScript, waitReady } from './bench-setup';
import { WEBHOOK_SECRET } from './fixtures';
import {
  CONNECTIONS,
  DURATION,
  IngestRow,
  measureTarget,
  MessageAccount,
  PULL_REQUESTS,
  Target,
  TargetOutcome,
  WARMUP,
  Workload,
} from './ingest';
import { ProcessingFigures, ThreadRowWatcher } from './processing-lag';
import { DRAIN_TIMEOUT_MS, peakRssMiB, profiling, progress } from './measure';

/**
 * `npm run bench`: webhook ingest against the bridge and three baselines side
 * by side (absolute times on a shared 2-core machine are noise; ratios
 * measured together are not), then processing lag, delivery to the Flowdock
 * simulator, UpdateAction requests against the GitHub simulator, and the
 * footprint: on a PostgreSQL server and on the embedded database.
 */
const ROOT = join(__dirname, '..', '..');
const BENCH = join(ROOT, 'dist-bench', 'bench');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const DATABASES = (process.env.BENCH_DATABASES ?? 'server,embedded')
  .split(',')
  .map((d) => d.trim()) as Database[];
const EMBEDDED_BASELINE = process.env.BENCH_EMBEDDED_BASELINE !== '0';

type Database = 'server' | 'embedded';

const TARGET = {
  bridge: (db: Database) => `bridge (${db} database)`,
  verify: 'bare Fastify: verify',
  insert: (db: Database) => `bare Fastify: verify + insert (${db} database)`,
  probot: 'Probot: verify + post',
};

/** Everything that failed; any entry makes the run exit non-zero. */
const failures: string[] = [];

async function section<T>(name: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message}`);
    console.error(error);
    return undefined;
  }
}

/** The durable baseline's database on the embedded database: `bench/targets/embedded-db.ts` in its own process. */
async function embeddedBaselineDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  const target = startScript(join(BENCH, 'targets', 'embedded-db.js'), {});
  const { child } = target;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the embedded database did not start')),
      60_000,
    );
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString().trim());
    });
    child.once('exit', () => reject(new Error('the embedded database exited')));
  });
  return { url, stop: () => stop(target) };
}

interface IngestSection {
  outcomes: Map<string, TargetOutcome>;
}

async function ingest(sinkUrl: string): Promise<IngestSection> {
  const outcomes = new Map<string, TargetOutcome>();
  const bridgeEnv = {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    FLOWDOCK_API_URL: sinkUrl,
    FLOWDOCK_FLOW_TOKEN: 'bench-flow-token',
  };
  const measure = async (target: Target) => {
    const outcome = await measureTarget(target);
    failures.push(...outcome.failures);
    outcomes.set(target.target, outcome);
  };

  for (const db of DATABASES) {
    // A fresh database (server) or data directory (embedded) per run: messages left
    // pending by an earlier run would hold up this run's on the same thread.
    await section(TARGET.bridge(db), async () => {
      const database = db === 'server' ? await benchDatabase() : undefined;
      const dataDir = freshDataDir(`bench-ingest-${db}-`);
      try {
        await measure({
          target: TARGET.bridge(db),
          script: MAIN,
          env: {
            ...bridgeEnv,
            DATA_DIR: dataDir,
            ...(database ? { DATABASE_URL: database.url } : {}),
          },
          nodeArgs: profiling(`ingest-${db}`),
          sinkUrl,
          dataDir: db === 'embedded' ? dataDir : undefined,
        });
      } finally {
        await database?.drop();
      }
    });
  }
  await measure({
    target: TARGET.verify,
    script: join(BENCH, 'targets', 'bare-verify.js'),
    env: {},
  });
  for (const db of DATABASES) {
    if (db === 'embedded' && !EMBEDDED_BASELINE) continue;
    await section(TARGET.insert(db), async () => {
      const database: { url: string; stop: () => Promise<void> } =
        db === 'server'
          ? await benchDatabase({ migrate: false }).then((d: FreshDatabase) => ({
              url: d.url,
              stop: d.drop,
            }))
          : await embeddedBaselineDatabase();
      try {
        await measure({
          target: TARGET.insert(db),
          script: join(BENCH, 'targets', 'bare-insert.js'),
          env: { DATABASE_URL: database.url },
        });
      } finally {
        await database.stop();
      }
    });
  }
  await measure({
    target: TARGET.probot,
    script: join(BENCH, 'targets', 'probot-app.js'),
    env: { SINK_URL: `${sinkUrl}/messages` },
  });
  return { outcomes };
}

/** Start-up to ready on a fresh embedded data directory (initdb and migrations), then reopening it. */
async function embeddedStartup(): Promise<{ firstMs: number; reopenMs: number }> {
  progress('start-up on the embedded database');
  const dataDir = freshDataDir('bench-startup-');
  const env = {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
  };
  const times: number[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const bridge = startScript(MAIN, { ...env, PORT: String(port) });
    try {
      times.push(Math.round(await waitReady(`http://127.0.0.1:${port}/health/ready`, bridge)));
    } finally {
      await stop(bridge);
      const leftover = await stopLeftoverServer(dataDir);
      if (leftover)
        failures.push(`start-up: the embedded server (pid ${leftover}) outlived the bridge`);
    }
  }
  return { firstMs: times[0], reopenMs: times[1] };
}

type Processing =
  | (ProcessingFigures & { ratePerSecond: number })
  | { skipped: string; lagP50Ms: null; lagP99Ms: null };

interface DeliverySummary {
  steadyRatePerSecond: number;
  steadyP50Ms: number;
  steadyP99Ms: number;
  steadyMaxMs: number;
  burst: number;
  burstAcceptedPerSecond: number;
  burstP50Ms: number;
  burstP99Ms: number;
  burstDrainSeconds: number;
  burstDeliveredPerSecond: number;
  phases: DeliveryPhase[];
}

interface WorldSection {
  processing?: Processing;
  delivery?: DeliverySummary;
  actions?: ActionFigures;
  replies?: ReplyFigures;
  startupMs: number;
  bridgeIdleRssMiB: number;
  bridgePeakRssWorldMiB: number;
  postgresIdle?: ServerMemory;
  postgresPeak?: ServerMemory;
}

/** A read-only connection to the world bridge's database, or why there is none. */
async function threadReader(
  db: Database,
  database: FreshDatabase | undefined,
  world: BenchWorld,
): Promise<Client | string> {
  if (database) return connectReadOnly({ connectionString: database.url });
  const found = await connectToEmbedded(world.dataDir);
  return 'client' in found ? found.client : `${db}: ${found.reason}`;
}

/** Sections 2–4 (processing lag, delivery, actions) and the world's share of 5 on one database. */
async function worldSections(db: Database): Promise<WorldSection | undefined> {
  progress(`bridge with the Flowdock and GitHub simulators (${db} database)`);
  let database: FreshDatabase | undefined;
  let world: BenchWorld | undefined;
  let reader: Client | string | undefined;
  let sampler: ServerMemorySampler | undefined;
  try {
    if (db === 'server') database = await benchDatabase();
    world = await startBenchWorld(database?.url, RUN_ID, `world-${db}`, { hearReplies: true });
    const postmaster = db === 'embedded' ? findPostmaster(world.dataDir) : undefined;
    const result: WorldSection = {
      startupMs: Math.round(world.startupMs),
      bridgeIdleRssMiB: world.idleRssMiB,
      bridgePeakRssWorldMiB: NaN,
      postgresIdle: postmaster ? serverMemory(postmaster.pid) : undefined,
    };
    if (db === 'embedded') sampler = new ServerMemorySampler(world.dataDir);
    reader = await threadReader(db, database, world);
    const deliveryBench = new DeliveryBench(world, RUN_ID);
    const watcher =
      typeof reader === 'string'
        ? undefined
        : new ThreadRowWatcher(reader, deliveryBench.repository);

    progress(`delivery and processing lag: steady ${STEADY_RATE}/s (${db})`);
    await deliveryBench.warmUp();
    const steady = await deliveryBench.steady(watcher);
    if (watcher) {
      const lag = await watcher.finish(DRAIN_TIMEOUT_MS);
      result.processing = { ratePerSecond: STEADY_RATE, ...lag };
      if (watcher.error) failures.push(`processing lag (${db}): ${watcher.error}`);
      else if (lag.rows < lag.webhooks)
        failures.push(
          `processing lag (${db}): ${lag.webhooks - lag.rows} thread rows never written`,
        );
    } else {
      result.processing = { skipped: reader as string, lagP50Ms: null, lagP99Ms: null };
    }
    progress(`delivery: burst (${db})`);
    const burst = await deliveryBench.burst();
    for (const phase of [steady, burst]) {
      if (phase.errors > 0 || phase.delivered < phase.accepted)
        failures.push(
          `delivery (${db}), ${phase.phase}: ${phase.errors} of ${phase.webhooks} webhooks not accepted, ` +
            `${phase.accepted - phase.delivered} accepted never delivered` +
            (deliveryBench.errors.length ? ` (${deliveryBench.errors.join('; ')})` : ''),
        );
    }
    result.delivery = {
      steadyRatePerSecond: STEADY_RATE,
      steadyP50Ms: steady.p50Ms,
      steadyP99Ms: steady.p99Ms,
      steadyMaxMs: steady.maxMs,
      burst: burst.webhooks,
      burstAcceptedPerSecond: burst.acceptedPerSecond,
      burstP50Ms: burst.p50Ms,
      burstP99Ms: burst.p99Ms,
      burstDrainSeconds: burst.drainSeconds,
      burstDeliveredPerSecond: burst.deliveredPerSecond,
      phases: [steady, burst],
    };
    progress(`actions (${db})`);
    result.actions = await section(`actions (${db})`, () => new ActionBench(world!).run());
    progress(`thread replies (${db})`);
    result.replies = await section(`replies (${db})`, () => new ReplyBench(world!).run());
    if (result.replies && result.replies.commented < result.replies.replies)
      failures.push(
        `replies (${db}): ${result.replies.replies - result.replies.commented} never reached GitHub`,
      );
    result.bridgePeakRssWorldMiB = peakRssMiB(world.process.child.pid!);
    result.postgresPeak = sampler?.stop();
    if (world.process.child.exitCode !== null)
      failures.push(`the ${db} world's bridge exited (${world.process.child.exitCode})`);
    return result;
  } catch (error) {
    failures.push(`sections 2–4 (${db}): ${(error as Error).message}`);
    console.error(error);
    if (world) console.error(`The bridge's output:\n${world.process.output().slice(-5000)}`);
    return undefined;
  } finally {
    if (typeof reader === 'object') await reader.end().catch(() => undefined);
    sampler?.stop();
    await world?.stop();
    if (world && db === 'embedded') {
      const leftover = await stopLeftoverServer(world.dataDir);
      if (leftover)
        failures.push(`the embedded server (pid ${leftover}) outlived the ${db} world's bridge`);
    }
    await database?.drop();
  }
}

const ratio = (a: IngestRow | undefined, b: IngestRow | undefined) =>
  a && b && b.requestsPerSecond > 0
    ? +(a.requestsPerSecond / b.requestsPerSecond).toFixed(3)
    : null;

function ratios(rows: IngestRow[], db: Database): Record<string, number | null> {
  const row = (target: string, workload: Workload) =>
    rows.find((r) => r.target === target && r.workload === workload);
  const insert = rows.some((r) => r.target === TARGET.insert(db))
    ? TARGET.insert(db)
    : TARGET.insert('server');
  const out: Record<string, number | null> = {};
  for (const [label, workload] of [
    ['one-PR', 'one PR'],
    ['many-PR', 'many PRs'],
  ] as const) {
    const bridge = row(TARGET.bridge(db), workload);
    out[`bridge ${label} / Probot`] = ratio(bridge, row(TARGET.probot, workload));
    out[`bridge ${label} / bare verify+insert`] = ratio(bridge, row(insert, workload));
    out[`bridge ${label} / bare verify`] = ratio(bridge, row(TARGET.verify, workload));
  }
  return out;
}

const maxOf = (...values: (number | undefined)[]) => {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return known.length > 0 ? Math.max(...known) : null;
};

function figures(
  db: Database,
  rows: IngestRow[],
  messages: MessageAccount | undefined,
  world: WorldSection | undefined,
  ingestPostgres: ServerMemory | undefined,
  startup: { firstMs: number; reopenMs: number } | undefined,
) {
  const ingestPeak = rows.find((r) => r.target === TARGET.bridge(db))?.peakRssMiB;
  const postgresPeak = [ingestPostgres, world?.postgresPeak].filter((m) => m !== undefined);
  return {
    ratios: ratios(rows, db),
    ingestMessages: messages ?? { accepted: null, delivered: null },
    processing: world?.processing ?? { lagP50Ms: null, lagP99Ms: null },
    delivery: world?.delivery ?? { steadyP99Ms: null, burstDrainSeconds: null },
    actions: world?.actions ?? { bridgeP99Ms: null },
    replies: world?.replies ?? { p50Ms: null, p99Ms: null },
    footprint: {
      /** Start-up to ready on a database that exists and is migrated (embedded: a reopen). */
      startupMs: db === 'server' ? (world?.startupMs ?? null) : (startup?.reopenMs ?? null),
      ...(db === 'embedded'
        ? { startupFirstMs: startup?.firstMs ?? null, startupReopenMs: startup?.reopenMs ?? null }
        : {}),
      bridgeIdleRssMiB: world?.bridgeIdleRssMiB ?? null,
      bridgePeakRssMiB: maxOf(ingestPeak, world?.bridgePeakRssWorldMiB),
      bridgePeakRssIngestMiB: ingestPeak ?? null,
      bridgePeakRssWorldMiB: world?.bridgePeakRssWorldMiB ?? null,
      ...(db === 'embedded'
        ? {
            postgresProcesses: maxOf(...postgresPeak.map((m) => m.processes)),
            postgresIdleRssMiB: world?.postgresIdle?.rssMiB ?? null,
            postgresPeakRssMiB: maxOf(...postgresPeak.map((m) => m.rssMiB)),
            postgresPeakPssMiB: maxOf(...postgresPeak.map((m) => m.pssMiB)),
          }
        : {}),
    },
  };
}

type Figures = ReturnType<typeof figures>;

function print(report: ReturnType<typeof buildReport>) {
  const { settings } = report;
  console.log(
    `\n1. Webhook ingest: ${settings.connections} connections, ${settings.durationSeconds} s per workload ` +
      `(after a ${settings.warmupSeconds} s warm-up); one PR, and ${settings.pullRequests} different PRs\n`,
  );
  console.table(
    report.ingest.map((r) => ({
      target: r.target,
      workload: r.workload,
      'req/s': Math.round(r.requestsPerSecond),
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'max ms': r.max,
      errors: r.errors,
      'peak RSS MiB': r.peakRssMiB,
    })),
  );
  const byDatabase: [string, Figures][] = [
    ...(DATABASES.includes('server') ? [['server', report] as [string, Figures]] : []),
    ...(report.embedded ? [['embedded', report.embedded] as [string, Figures]] : []),
  ];
  console.log('Ratios (req/s, same run):');
  console.table(Object.fromEntries(byDatabase.map(([db, f]) => [db, f.ratios])));
  console.log("Messages of the bridges' accepted webhooks at the sink:");
  console.table(Object.fromEntries(byDatabase.map(([db, f]) => [db, f.ingestMessages])));
  console.log(`\n2. Processing lag at ${STEADY_RATE} webhooks/s: 202 → thread row written, ms\n`);
  console.table(Object.fromEntries(byDatabase.map(([db, f]) => [db, f.processing])));
  console.log('\n3. Delivery: webhook accepted (202) → message at the Flowdock simulator\n');
  console.table(
    byDatabase.flatMap(([db, f]) =>
      'phases' in f.delivery ? f.delivery.phases.map((p) => ({ database: db, ...p })) : [],
    ),
  );
  console.log(
    '\n4. UpdateAction requests of linked users (ms; bridge = total − its GitHub call; inside = as the bridge measures it)\n',
  );
  console.table(Object.fromEntries(byDatabase.map(([db, f]) => [db, f.actions])));
  console.log(
    '\n4b. Thread replies of linked users: sent to Flowdock → comment request at GitHub (ms)\n',
  );
  console.table(Object.fromEntries(byDatabase.map(([db, f]) => [db, f.replies])));
  console.log('\n5. Footprint (ms, MiB)\n');
  console.table(Object.fromEntries(byDatabase.map(([db, f]) => [db, f.footprint])));
}

function buildReport(
  ingestSection: IngestSection,
  worlds: Map<Database, WorldSection | undefined>,
  startup: { firstMs: number; reopenMs: number } | undefined,
) {
  const rows = [...ingestSection.outcomes.values()].flatMap((o) => o.rows);
  const of = (db: Database) => {
    const outcome = ingestSection.outcomes.get(TARGET.bridge(db));
    return figures(db, rows, outcome?.messages, worlds.get(db), outcome?.postgres, startup);
  };
  const server = DATABASES.includes('server') ? of('server') : undefined;
  const embedded = DATABASES.includes('embedded') ? of('embedded') : undefined;
  return {
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: {
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      warmupSeconds: WARMUP,
      pullRequests: PULL_REQUESTS,
      steadyRatePerSecond: STEADY_RATE,
      steadySeconds: STEADY_SECONDS,
      burst: BURST,
      databases: DATABASES,
    },
    // The PostgreSQL server's figures at the top level, the embedded database's under `embedded`.
    ...(server ?? of('server')),
    embedded,
    ingest: rows,
    ingestWarmup: [...ingestSection.outcomes].map(([target, o]) => ({ target, ...o.warmup })),
    failures,
  };
}

async function main() {
  cleanUpOnExit();
  const sinkPort = await freePort();
  const sink = startScript(join(BENCH, 'sink.js'), { PORT: String(sinkPort) });
  const sinkUrl = `http://127.0.0.1:${sinkPort}`;
  await waitReady(`${sinkUrl}/count`, sink);

  const ingestSection = await ingest(sinkUrl);
  const startup = DATABASES.includes('embedded')
    ? await section('start-up on the embedded database', embeddedStartup)
    : undefined;
  const worlds = new Map<Database, WorldSection | undefined>();
  for (const db of DATABASES) worlds.set(db, await worldSections(db));
  await stop(sink);

  const report = buildReport(ingestSection, worlds, startup);
  print(report);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  console.log('Written to bench/results/latest.json');
  for (const failure of failures) console.error(`FAILED: ${failure}`);
  process.exit(failures.length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
