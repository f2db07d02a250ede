import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ActionBench } from './actions';
import { startBridgeWorld } from './bridge-world';
import { DeliveryBench } from './delivery';
import { benchDatabase } from './flowdock-bench-db';
import { signedPullRequestOpened, WEBHOOK_SECRET } from './fixtures';
import {
  freePort,
  outputOf,
  peakRssMiB,
  profiling,
  progress,
  start,
  stop,
  until,
  waitReady,
} from './processes';

/**
 * `npm run bench`: webhook ingest against the bridge and three baselines side
 * by side (absolute times on a shared 2-core machine are noise; ratios
 * measured together are not), then delivery to the Flowdock simulator,
 * UpdateAction requests against the GitHub simulator, and the footprint.
 */
const ROOT = join(__dirname, '..', '..');
const BENCH = join(ROOT, 'dist-bench', 'bench');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  statusCodes: Record<string, { count: number }>;
}

interface Row extends LoadResult {
  target: string;
  peakRssMiB: number;
  startupMs: number;
}

function load(url: string, seconds: number): LoadResult {
  const { body, signature } = signedPullRequestOpened();
  const job = {
    url,
    connections: CONNECTIONS,
    durationSeconds: seconds,
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-hub-signature-256': signature,
      'user-agent': 'GitHub-Hookshot/bench',
    },
  };
  const out = execFileSync(process.execPath, [join(BENCH, 'load.js'), JSON.stringify(job)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
}

async function databaseUrl(): Promise<string> {
  if (process.env.BENCH_DATABASE_URL) return process.env.BENCH_DATABASE_URL;
  const child = start(join(BENCH, 'targets', 'embedded-db.js'), {});
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('embedded database did not start')));
  });
}

/** Load against one target; `afterLoad` runs before the target stops (checks on what it did). */
async function measure(
  target: string,
  script: string,
  env: Record<string, string>,
  afterLoad?: (accepted: number) => Promise<void>,
  nodeArgs: string[] = [],
): Promise<Row> {
  progress(`ingest: ${target}`);
  const port = await freePort();
  const child = start(script, { ...env, PORT: String(port) }, nodeArgs);
  const startupMs = Math.round(await waitReady(`http://127.0.0.1:${port}/health/ready`, child));
  const url = `http://127.0.0.1:${port}/github/webhooks`;
  const warm = WARMUP > 0 ? load(url, WARMUP) : undefined;
  const result = load(url, DURATION);
  if (warm && warm.errors > 0) result.errors += warm.errors;
  await afterLoad?.((warm?.requests ?? 0) + result.requests);
  const row = { target, ...result, peakRssMiB: peakRssMiB(child.pid!), startupMs };
  await stop(child);
  return row;
}

/** Messages the sink has received; -1 when a request fails (a kept-alive socket the sink closed): ask again. */
async function sinkCount(sinkUrl: string): Promise<number> {
  try {
    return Number(await (await fetch(`${sinkUrl}/count`)).text());
  } catch {
    return -1;
  }
}

async function main() {
  const sinkPort = await freePort();
  const sink = start(join(BENCH, 'sink.js'), { PORT: String(sinkPort) });
  const sinkUrl = `http://127.0.0.1:${sinkPort}`;
  await waitReady(`${sinkUrl}/count`, sink);
  const dbUrl = await databaseUrl();
  const database = process.env.BENCH_DATABASE_URL ? 'server' : 'embedded';

  // 1. Ingest. The bridge's 202s must become messages at the sink: all of them, counted.
  const bridgeDataDir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  // A fresh database on the server: messages left pending by an earlier run would
  // hold up this run's on the same thread (delivery keeps each thread's order).
  const ingestDb = process.env.BENCH_DATABASE_URL ? await benchDatabase() : undefined;
  const bridgeEnv = {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATA_DIR: bridgeDataDir,
    ...(ingestDb ? { DATABASE_URL: ingestDb.url } : {}),
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    FLOWDOCK_API_URL: sinkUrl,
    FLOWDOCK_FLOW_TOKEN: 'bench-flow-token',
  };
  let ingestDelivered = 0;
  let ingestAccepted = 0;
  const rows: Row[] = [];
  rows.push(
    await measure(
      'bridge',
      MAIN,
      bridgeEnv,
      async (accepted) => {
        ingestAccepted = accepted;
        let now = 0;
        await until(
          `the sink to receive the bridge's ${accepted} messages`,
          async () => (now = Math.max(now, await sinkCount(sinkUrl))) >= accepted,
          120_000,
        ).catch((error: Error) => console.error(`FAILED: ${error.message} (${now} arrived)`));
        ingestDelivered = now;
      },
      profiling('ingest'),
    ),
  );
  rows.push(await measure('bare Fastify: verify', join(BENCH, 'targets', 'bare-verify.js'), {}));
  rows.push(
    await measure('bare Fastify: verify + insert', join(BENCH, 'targets', 'bare-insert.js'), {
      DATABASE_URL: dbUrl,
    }),
  );
  rows.push(
    await measure('Probot: verify + post', join(BENCH, 'targets', 'probot-app.js'), {
      SINK_URL: `${sinkUrl}/messages`,
    }),
  );

  // 4 (part). Start-up on the embedded database: first start (initdb) and a reopen.
  progress('start-up on the embedded database');
  const embeddedEnv = { ...bridgeEnv, DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-startup-')) };
  delete (embeddedEnv as Record<string, string>).DATABASE_URL;
  const embeddedStartup: number[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const child = start(MAIN, { ...embeddedEnv, PORT: String(port) });
    embeddedStartup.push(
      Math.round(await waitReady(`http://127.0.0.1:${port}/health/ready`, child)),
    );
    await stop(child);
  }

  // On a PostgreSQL server: the embedded database's socket server interleaves the
  // extended-protocol messages of concurrent connections (see bench/README.md).
  progress('bridge with the Flowdock and GitHub simulators');
  const worldDb = await benchDatabase();
  const world = await startBridgeWorld(worldDb.url, RUN_ID);
  let delivery, actions;
  try {
    const deliveryBench = new DeliveryBench(world, RUN_ID);
    progress('delivery: steady rate');
    delivery = [await deliveryBench.steady()];
    progress('delivery: burst');
    delivery.push(await deliveryBench.burst());
    progress('actions');
    actions = await new ActionBench(world).run();
  } catch (error) {
    console.error(`The bridge's output:\n${outputOf(world.child).slice(-5000)}`);
    throw error;
  }
  const footprint = {
    'start-up to ready, ms: embedded database, first start (initdb)': embeddedStartup[0],
    'start-up to ready, ms: embedded database, reopen': embeddedStartup[1],
    'start-up to ready, ms: PostgreSQL server (fresh database, migrated)': Math.round(
      world.startupMs,
    ),
    'bridge RSS idle, MiB': world.idleRssMiB,
    'bridge peak RSS under delivery + actions, MiB': peakRssMiB(world.child.pid!),
    [`bridge peak RSS under ingest load (${database} database), MiB`]: rows[0].peakRssMiB,
  };
  await world.close();
  await worldDb.drop();
  await ingestDb?.drop();

  const bridge = rows[0];
  const ratio = (other: Row) => +(bridge.requestsPerSecond / other.requestsPerSecond).toFixed(2);
  const report = {
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: { durationSeconds: DURATION, connections: CONNECTIONS, database },
    ingest: rows,
    ingestMessages: { accepted: ingestAccepted, delivered: ingestDelivered },
    ratios: {
      'bridge / bare verify (req/s)': ratio(rows[1]),
      'bridge / bare verify+insert (req/s)': ratio(rows[2]),
      'bridge / Probot (req/s)': ratio(rows[3]),
    },
    delivery,
    actions,
    footprint,
  };

  console.log(
    `\n1. Webhook ingest: ${CONNECTIONS} connections, ${DURATION} s each, ${database} database\n`,
  );
  console.table(
    rows.map((r) => ({
      target: r.target,
      'req/s': Math.round(r.requestsPerSecond),
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'max ms': r.max,
      errors: r.errors,
      'peak RSS MiB': r.peakRssMiB,
    })),
  );
  console.table(report.ratios);
  console.log(
    `bridge: ${ingestAccepted} webhooks accepted, ${ingestDelivered} messages received by the sink`,
  );
  console.log('\n2. Delivery: webhook accepted (202) → message at the Flowdock simulator, ms\n');
  console.table(delivery);
  console.log(
    '\n3. UpdateAction requests of linked users (ms; bridge = total − GitHub simulator)\n',
  );
  console.table(actions);
  console.log('\n4. Footprint\n');
  console.table(footprint);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`Written to bench/results/latest.json`);

  const failed = rows.filter((r) => r.errors > 0 || r.requests === 0);
  for (const r of failed)
    console.error(
      `FAILED: ${r.target}: ${r.errors} errors, status codes ${JSON.stringify(r.statusCodes)}`,
    );
  if (ingestDelivered < ingestAccepted)
    console.error(`FAILED: only ${ingestDelivered} of ${ingestAccepted} ingested webhooks arrived`);
  process.exit(failed.length > 0 || ingestDelivered < ingestAccepted ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
