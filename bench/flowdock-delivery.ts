/**
 * Delivery to the Flowdock simulator, measured:
 * 1. throughput: 2000 messages over 100 threads, one worker in this process;
 * 2. the scenario: Flowdock down for OUTAGE_MS (default 60 s) while
 *    500 messages are produced; a bridge process (dist/src/main.js) delivers
 *    them when it returns, is killed (SIGKILL) mid-way, and two fresh bridge
 *    processes finish. Checks that every message arrived, that each thread
 *    shows its newest state and kept its order, and counts resends.
 *
 *   npm run bench:flowdock-delivery       (needs a PostgreSQL server: BENCH_DATABASE_URL)
 *   OUTAGE_MS=5000 npm run bench:flowdock-delivery
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { SimSource } from '../sandbox/flowdock/flowdock-state';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/app.config';
import { FlowdockDeliveryService } from '../src/delivery/flowdock-delivery.service';
import { FlowdockDeliveryWorker } from '../src/delivery/flowdock-delivery.worker';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { renderThread } from '../src/threads/thread-rendering';
import { externalThreadId, ThreadSnapshot } from '../src/threads/thread-snapshot';
import { freePort, MAIN, run, Spawned, waitForStatus } from '../sandbox/world/processes';
import { benchDatabase, benchEnvironment } from './bench-setup';

const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 60_000);

function snapshot(repo: string, number: number, step: number): ThreadSnapshot {
  return {
    repository: `acme/${repo}`,
    kind: number % 2 === 0 ? 'pull' : 'issue',
    number,
    title: `Thread ${number}`,
    body: `Step ${step}`,
    url: `https://github.com/acme/${repo}/${number % 2 === 0 ? 'pull' : 'issues'}/${number}`,
    state: step % 3 === 2 ? 'closed' : 'open',
    author: 'octocat',
    assignees: [`user${step}`],
    reviewers: [],
    labels: [`step-${step}`],
  };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function main(): Promise<void> {
  const db = await benchDatabase();
  const sim = await FlowdockSimulator.start({
    clientId: 'bench-flowdock-client',
    clientSecret: 'bench-flowdock-secret-0123456789abcdef01234',
  });
  const overrides = {
    FLOWDOCK_API_URL: sim.url,
    FLOWDOCK_TIMEOUT_MS: '2000',
    FLOWDOCK_RETRY_BASE_MS: '500',
    FLOWDOCK_RETRY_MAX_MS: '5000',
    FLOWDOCK_MAX_ATTEMPTS: '1000',
  };
  const env = benchEnvironment(db.url, mkdtempSync(join(tmpdir(), 'bench-delivery-')), overrides);
  const { config } = loadConfig(env);
  const app = await createApp(config);
  await app.init();
  const sources = app.get(FlowdockSourceService);
  const delivery = app.get(FlowdockDeliveryService);
  const worker = app.get(FlowdockDeliveryWorker);
  const dataSource = app.get(DataSource);
  const children: Spawned[] = [];

  const publish = (sourceId: string, snap: ThreadSnapshot, title: string) =>
    dataSource.transaction((manager) =>
      delivery.publish(manager, {
        sourceId,
        event: 'activity',
        author: { name: 'octocat' },
        title,
        snapshot: snap,
      }),
    );
  const received = (s: SimSource) => sim.state.messages.filter((m) => m.sourceId === s.id);

  try {
    // 1. Throughput, one worker in this process.
    const simA = sim.state.addSource();
    const a = await sources.register({ flowToken: simA.flowToken });
    let start = performance.now();
    for (let step = 0; step < 20; step++) {
      for (let n = 1; n <= 100; n++)
        await publish(a.id, snapshot('throughput', n, step), `step ${step}`);
    }
    const publishMs = performance.now() - start;
    start = performance.now();
    while ((await delivery.counts(a.id)).pending > 0) await worker.runOnce({ sourceIds: [a.id] });
    const deliverMs = performance.now() - start;
    console.log(
      `publish: ${((2000 / publishMs) * 1000).toFixed(0)} messages/s (one transaction each); ` +
        `delivery: ${((2000 / deliverMs) * 1000).toFixed(0)} messages/s to the simulator ` +
        `(${received(simA).length} received)`,
    );

    // 2. Outage, crash, two processes.
    const simB = sim.state.addSource();
    const b = await sources.register({ flowToken: simB.flowToken });
    const spawnBridge = async () => {
      const port = await freePort();
      const child = run(MAIN, {
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
        FLOWDOCK_DELIVERY_POLL_MS: '200',
      });
      children.push(child);
      await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, child);
      return child;
    };
    const first = await spawnBridge();
    const simPort = sim.port;
    await sim.stop();
    console.log(`Flowdock down for ${OUTAGE_MS} ms while 500 messages are produced…`);
    const newest = new Map<string, ThreadSnapshot>();
    const order = new Map<string, string[]>();
    const outageStart = Date.now();
    for (let batch = 0; batch < 10; batch++) {
      for (let n = 1; n <= 50; n++) {
        const snap = snapshot('outage', n, batch);
        const title = `batch ${batch}`;
        await publish(b.id, snap, title);
        newest.set(externalThreadId(snap), snap);
        order.set(externalThreadId(snap), [...(order.get(externalThreadId(snap)) ?? []), title]);
      }
      await sleep(Math.max(0, outageStart + ((batch + 1) * OUTAGE_MS) / 10 - Date.now()));
    }
    const during = await delivery.counts(b.id);
    const back = await FlowdockSimulator.start({
      clientId: '',
      clientSecret: '',
      port: simPort,
      state: sim.state,
    });
    back.state.latencyMs = 20;
    const backAt = performance.now();
    await until('the first 150 messages', () => received(simB).length >= 150, 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = received(simB).length;
    await Promise.all([spawnBridge(), spawnBridge()]);
    await until(
      'every message delivered',
      async () => (await delivery.counts(b.id)).pending === 0,
      120_000,
    );
    const recoveredMs = performance.now() - backAt;

    const messages = received(simB);
    const counts = new Map<string, number>();
    for (const m of messages)
      counts.set(m.body.uuid as string, (counts.get(m.body.uuid as string) ?? 0) + 1);
    const duplicates = [...counts.values()].reduce((sum, c) => sum + c - 1, 0);
    let newestOk = 0;
    let orderOk = 0;
    for (const [key, snap] of newest) {
      const thread = sim.state.thread(simB.id, key)?.thread;
      if (JSON.stringify(thread) === JSON.stringify(renderThread(snap, config.publicUrl)))
        newestOk++;
      const seen: string[] = [];
      for (const m of messages.filter((x) => x.body.external_thread_id === key)) {
        if (!seen.includes(m.body.title as string)) seen.push(m.body.title as string);
      }
      if (JSON.stringify(seen) === JSON.stringify(order.get(key))) orderOk++;
    }
    const final = await delivery.counts(b.id);
    console.log(
      `during the outage: ${during.sent} sent, ${during.pending} pending; after: ${JSON.stringify(final)}`,
    );
    console.log(
      `distinct messages received: ${counts.size}/500; resends (same uuid twice): ${duplicates}; ` +
        `bridge killed after ${atKill} had arrived; all delivered ${(recoveredMs / 1000).toFixed(1)} s after Flowdock returned`,
    );
    console.log(
      `threads in their newest state: ${newestOk}/${newest.size}; threads in order: ${orderOk}/${order.size}`,
    );
    await back.stop();
    if (
      counts.size !== 500 ||
      newestOk !== newest.size ||
      orderOk !== order.size ||
      final.dead > 0
    ) {
      process.exitCode = 1;
    }
  } finally {
    for (const child of children) child.child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await app.close();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
