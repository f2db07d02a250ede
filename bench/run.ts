import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { signedPullRequestOpened, WEBHOOK_SECRET } from './fixtures';

/**
 * `npm run bench`: webhook ingest against the bridge and three baselines, side
 * by side in one run, reported as absolute figures and as ratios (absolute
 * times on a shared 2-core machine are noise; ratios measured together are not).
 */
const ROOT = join(__dirname, '..', '..');
const BENCH = join(ROOT, 'dist-bench', 'bench');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

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
}

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

function start(script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.on('exit', (code) => {
    if (code && code !== 0) process.stderr.write(`${script} exited ${code}:\n${output}\n`);
  });
  children.push(child);
  return child;
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited before it was ready`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} was not ready within 120 s`);
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kib / 1024);
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

async function measure(target: string, script: string, env: Record<string, string>): Promise<Row> {
  const port = await freePort();
  const child = start(script, { ...env, PORT: String(port) });
  await waitReady(`http://127.0.0.1:${port}/health/ready`, child);
  const url = `http://127.0.0.1:${port}/github/webhooks`;
  if (WARMUP > 0) load(url, WARMUP);
  const result = load(url, DURATION);
  const row = { target, ...result, peakRssMiB: peakRssMiB(child.pid!) };
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  return row;
}

async function main() {
  const sinkPort = await freePort();
  start(join(BENCH, 'sink.js'), { PORT: String(sinkPort) });
  const sinkUrl = `http://127.0.0.1:${sinkPort}`;
  const dbUrl = await databaseUrl();

  const rows: Row[] = [];
  rows.push(
    await measure('bridge', join(ROOT, 'dist', 'src', 'main.js'), {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-bridge-')),
      ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      FLOWDOCK_API_URL: sinkUrl,
      FLOWDOCK_FLOW_TOKEN: 'bench-flow-token',
    }),
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

  const bridge = rows[0];
  const ratio = (other: Row) => +(bridge.requestsPerSecond / other.requestsPerSecond).toFixed(2);
  const report = {
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: {
      durationSeconds: DURATION,
      connections: CONNECTIONS,
      database: process.env.BENCH_DATABASE_URL ? 'server' : 'embedded',
    },
    ingest: rows,
    ratios: {
      'bridge / bare verify (req/s)': ratio(rows[1]),
      'bridge / bare verify+insert (req/s)': ratio(rows[2]),
      'bridge / Probot (req/s)': ratio(rows[3]),
    },
  };

  console.log(
    `\nWebhook ingest: ${CONNECTIONS} connections, ${DURATION} s each, ${report.settings.database} database\n`,
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
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`Written to bench/results/latest.json`);

  const failed = rows.filter((r) => r.errors > 0 || r.requests === 0);
  if (failed.length > 0) {
    for (const r of failed)
      console.error(
        `FAILED: ${r.target}: ${r.errors} errors, status codes ${JSON.stringify(r.statusCodes)}`,
      );
    process.exit(1);
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
