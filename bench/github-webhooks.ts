/**
 * Webhook acknowledgement latency under load: signed `issues` / `pull_request`
 * deliveries from the example payloads, posted over HTTP to a listening bridge
 * (verify + record + merge + enqueue in one transaction, then 202), at several
 * concurrency levels. Reports p50/p95/p99/max and throughput per level.
 *
 *   npm run bench:github-webhooks     (PostgreSQL server: BENCH_DATABASE_URL, default local)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/app.config';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { benchDatabase, benchEnvironment } from './bench-setup';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main(): Promise<void> {
  const db = await benchDatabase();
  const env = benchEnvironment(db.url, mkdtempSync(join(tmpdir(), 'bench-webhooks-')));
  const { config } = loadConfig(env);
  const app = await createApp(config, { logStream: { write: () => undefined } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/github/webhooks`;
  const secret = config.github.webhookSecret;
  const repository = 'bench-org/app';
  await app
    .get(SubscriptionService)
    .add({ repositoryPattern: 'bench-org/*', flowToken: `bench-${randomUUID()}` });

  let counter = 0;
  const nextDelivery = () => {
    const n = ++counter;
    const issue = n % 2 === 0;
    const payload = issue
      ? examplePayload('issues', 'labeled')
      : examplePayload('pull_request', 'labeled');
    payload.repository.full_name = repository;
    // 50 threads, so that deliveries also contend for the same thread row.
    if ('issue' in payload) payload.issue.number = (n % 50) + 1;
    else payload.pull_request.number = (n % 50) + 1;
    return signedWebhook(secret, issue ? 'issues' : 'pull_request', payload);
  };

  const post = async () => {
    const { headers, body } = nextDelivery();
    const start = performance.now();
    const res = await fetch(url, { method: 'POST', headers, body });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`unexpected ${res.status}`);
    return performance.now() - start;
  };

  for (let i = 0; i < 100; i++) await post(); // warm-up

  const results: string[] = [];
  for (const concurrency of [1, 8, 32]) {
    const total = 1000;
    const latencies: number[] = [];
    const started = performance.now();
    let issued = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < total) {
          issued++;
          latencies.push(await post());
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    results.push(
      `concurrency ${String(concurrency).padStart(2)}: ${total} deliveries, ` +
        `${(total / elapsed).toFixed(0)}/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
        `p95 ${percentile(latencies, 95).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
        `max ${latencies[latencies.length - 1].toFixed(1)} ms`,
    );
  }
  await app.close();
  await db.drop();
  process.stdout.write(
    `Webhook acknowledgement (signed, recorded, merged, enqueued -> 202):\n${results.join('\n')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
