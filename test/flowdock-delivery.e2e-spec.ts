import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { SimSource } from '../sandbox/flowdock/flowdock-state';
import { FlowdockDeliveryService } from '../src/delivery/flowdock-delivery.service';
import { FlowdockDeliveryWorker } from '../src/delivery/flowdock-delivery.worker';
import { FlowdockOutbox } from '../src/delivery/flowdock-outbox';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { StormWatch } from '../src/database/pass-pacing';
import { externalThreadId, ThreadSnapshot } from '../src/threads/thread-snapshot';
import { WebhookInbox } from '../src/webhooks/webhook-inbox';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { waitUntil } from '../sandbox/world/processes';
import { postWebhook } from './support/webhook-requests';
import { freshDatabase } from '../sandbox/world/databases';
import { startTestApp, TestApp, testEnvironment } from './support/test-app';

const CLIENT_ID = 'client-delivery-spec';
const CLIENT_SECRET = 'secret-delivery-spec-0123456789abcdef0123';
const PUBLIC_URL = 'https://bridge.example.com';
const RUN = `${process.pid}-${Date.now()}`;

let sim: FlowdockSimulator;

function env(overrides: Record<string, string> = {}) {
  return testEnvironment({
    PUBLIC_URL,
    FLOWDOCK_API_URL: sim.url,
    FLOWDOCK_CLIENT_ID: CLIENT_ID,
    FLOWDOCK_CLIENT_SECRET: CLIENT_SECRET,
    FLOWDOCK_TIMEOUT_MS: '300',
    FLOWDOCK_RETRY_BASE_MS: '20',
    FLOWDOCK_RETRY_MAX_MS: '200',
    FLOWDOCK_MAX_ATTEMPTS: '1000',
    // Every bridge of this file reads the flow tokens the others stored.
    TOKEN_ENCRYPTION_KEY: 'token-encryption-key-for-the-delivery-spec-0123',
    ...overrides,
  });
}

let counter = 0;
function snapshot(overrides: Partial<ThreadSnapshot> = {}): ThreadSnapshot {
  return {
    repository: `acme/delivery-${RUN}`,
    kind: 'pull',
    number: ++counter,
    title: 'Add sprockets',
    body: null,
    url: `https://github.com/acme/delivery-${RUN}/pull/${counter}`,
    state: 'open',
    author: 'octocat',
    assignees: [],
    reviewers: [],
    labels: [],
    ...overrides,
  };
}

interface Bridge {
  t: TestApp;
  sources: FlowdockSourceService;
  delivery: FlowdockDeliveryService;
  worker: FlowdockDeliveryWorker;
  db: DataSource;
}

async function bridge(overrides: Record<string, string> = {}): Promise<Bridge> {
  const t = await startTestApp(env(overrides));
  return {
    t,
    sources: t.app.get(FlowdockSourceService),
    delivery: t.app.get(FlowdockDeliveryService),
    worker: t.app.get(FlowdockDeliveryWorker),
    db: t.app.get(DataSource),
  };
}

/** Runs delivery passes for one source until nothing is pending (or 20 s passed). */
async function drain(b: Bridge, sourceId: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    await b.worker.runOnce({ sourceIds: [sourceId] });
    if ((await b.delivery.counts(sourceId)).pending === 0) return;
    await sleep(20);
  }
  throw new Error(`messages of source ${sourceId} still pending`);
}

/** A Flowdock source in the simulator, registered in the bridge. */
async function source(b: Bridge): Promise<{ sim: SimSource; id: string }> {
  const simSource = sim.state.addSource();
  const record = await b.sources.register({ flowToken: simSource.flowToken, name: 'test' });
  return { sim: simSource, id: record.id };
}

function publish(b: Bridge, sourceId: string, snap: ThreadSnapshot, title = 'updated') {
  return b.db.transaction((manager) =>
    b.delivery.publish(manager, {
      sourceId,
      event: 'activity',
      author: { name: 'octocat' },
      title,
      snapshot: snap,
    }),
  );
}

const received = (s: SimSource) => sim.state.messages.filter((m) => m.sourceId === s.id);

beforeAll(async () => {
  sim = await FlowdockSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterAll(() => sim.stop());

describe('Flowdock sources', () => {
  let b: Bridge;
  beforeAll(async () => (b = await bridge()));
  afterAll(() => b.t.app.close());

  it('registers a flow token once, stored encrypted', async () => {
    const token = `tok-${RUN}-register`;
    const first = await b.sources.register({ flowToken: token, flow: 'acme/main', name: 'Main' });
    const again = await b.sources.register({ flowToken: ` ${token} `, name: 'Other' });
    expect(again.id).toBe(first.id);
    expect(again).toMatchObject({ flow: 'acme/main', name: 'Main', disabledAt: null });
    const rows: { flow_token_encrypted: string }[] = await b.db.query(
      'SELECT flow_token_encrypted FROM flowdock_source WHERE id = $1',
      [first.id],
    );
    expect(rows[0].flow_token_encrypted).not.toContain(token);
    expect(await b.sources.flowToken(first.id)).toBe(token);
    expect(await b.sources.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    await expect(b.sources.register({ flowToken: '  ' })).rejects.toMatchObject({ status: 400 });
  });

  it('registers FLOWDOCK_FLOW_TOKEN at start as the default source', async () => {
    const token = `tok-${RUN}-default`;
    // Its own database: an app with a default flow would take other tests' webhook deliveries.
    const own = await freshDatabase(process.env.E2E_DATABASE_URL!);
    const other = await bridge({ FLOWDOCK_FLOW_TOKEN: token, DATABASE_URL: own.url });
    try {
      const id = await other.sources.defaultSourceId();
      expect((await other.sources.get(id!))?.name).toBe('FLOWDOCK_FLOW_TOKEN');
      expect(await other.sources.flowToken(id!)).toBe(token);
    } finally {
      await other.t.app.close();
      await own.drop();
    }
  });
});

describe('Flowdock delivery', () => {
  let b: Bridge;
  beforeAll(async () => (b = await bridge()));
  afterAll(() => b.t.app.close());

  it('enqueues in the caller transaction: a rollback leaves no message and no snapshot', async () => {
    const s = await source(b);
    const snap = snapshot();
    await expect(
      b.db.transaction(async (manager) => {
        await b.delivery.publish(manager, {
          sourceId: s.id,
          event: 'activity',
          author: { name: 'octocat' },
          title: 'opened',
          snapshot: snap,
        });
        throw new Error('the webhook transaction failed');
      }),
    ).rejects.toThrow('the webhook transaction failed');
    expect(await b.delivery.counts(s.id)).toEqual({ pending: 0, sent: 0, dead: 0 });
    expect(
      await b.db.query(`SELECT snapshot FROM flowdock_thread WHERE source_id = $1`, [s.id]),
    ).toEqual([]);
  });

  it('refuses an unknown source clearly', async () => {
    const error = await publish(b, 'not-a-uuid', snapshot()).catch((e: unknown) => e);
    expect((error as { getStatus(): number }).getStatus()).toBe(404);
  });

  it('delivers in order with stable uuids; every message carries the newest snapshot', async () => {
    const s = await source(b);
    const snap = snapshot();
    const first = await publish(b, s.id, snap, 'opened');
    await publish(b, s.id, { ...snap, assignees: ['hubot'] }, 'assigned hubot');
    await publish(b, s.id, { ...snap, state: 'closed', assignees: ['hubot'] }, 'closed');
    await drain(b, s.id);

    const messages = received(s.sim);
    expect(messages.map((m) => m.body.title)).toEqual(['opened', 'assigned hubot', 'closed']);
    expect(messages[0].body.uuid).toBe(first.uuid);
    expect(new Set(messages.map((m) => m.body.uuid)).size).toBe(3);
    // Sent after the last change: even the oldest message shows the closed thread.
    for (const m of messages) {
      expect((m.body.thread as { status: unknown }).status).toEqual({
        color: 'red',
        value: 'closed',
      });
    }
    const thread = sim.state.thread(s.sim.id, `github:acme/delivery-${RUN}:pull:${snap.number}`);
    expect(thread?.activities).toBe(3);
    expect(await b.delivery.counts(s.id)).toEqual({ pending: 0, sent: 3, dead: 0 });
  });

  it('updateSnapshot changes the state the next message carries without a message of its own', async () => {
    const s = await source(b);
    const snap = snapshot();
    await publish(b, s.id, snap, 'opened');
    await drain(b, s.id);
    await b.db.transaction((m) =>
      b.delivery.updateSnapshot(m, { sourceId: s.id, snapshot: { ...snap, labels: ['bug'] } }),
    );
    await drain(b, s.id);
    expect(received(s.sim)).toHaveLength(1);
    await publish(b, s.id, { ...snap, labels: ['bug'], assignees: ['x'] }, 'assigned x');
    await drain(b, s.id);
    const last = received(s.sim).at(-1)?.body.thread as { fields: { label: string }[] };
    expect(last.fields.map((f) => f.label)).toContain('Labels');
  });

  it('retries 500s and delivers once', async () => {
    const s = await source(b);
    sim.state.faults.push({ status: 500 }, { status: 502 });
    const published = await publish(b, s.id, snapshot());
    await drain(b, s.id);
    expect(received(s.sim).map((m) => m.body.uuid)).toEqual([published.uuid]);
    const rows: { attempts: number }[] = await b.db.query(
      'SELECT attempts FROM flowdock_message WHERE uuid = $1',
      [published.uuid],
    );
    expect(rows[0].attempts).toBe(3);
  });

  it('honours Retry-After on 429 and blocks the thread behind it', async () => {
    const s = await source(b);
    const snap = snapshot();
    sim.state.faults.push({ status: 429, retryAfter: '30' });
    const first = await publish(b, s.id, snap, 'first');
    await publish(b, s.id, snap, 'second');
    await b.worker.runOnce({ sourceIds: [s.id] });
    const rows: { wait_ms: number; attempts: number; last_error: string }[] = await b.db.query(
      `SELECT extract(epoch FROM available_at - now()) * 1000 AS wait_ms, attempts, last_error
       FROM flowdock_message WHERE uuid = $1`,
      [first.uuid],
    );
    expect(Number(rows[0].wait_ms)).toBeGreaterThan(20_000);
    expect(rows[0].last_error).toMatch(/rate limited/);
    // The second message waits behind the first: order is kept. Another thread
    // of the same flow token waits too: Retry-After is about the token.
    const other = await publish(b, s.id, snapshot(), 'other thread');
    await b.worker.runOnce({ sourceIds: [s.id] });
    expect(received(s.sim)).toHaveLength(0);
    // Time passes (the wait is moved forward instead of sleeping 30 s); the worker's
    // repair finds the thread due again.
    await b.db.query(`UPDATE flowdock_message SET available_at = now() WHERE uuid = $1`, [
      first.uuid,
    ]);
    await b.db.query(`UPDATE flowdock_source SET paused_until = now() WHERE id = $1`, [s.id]);
    expect(await b.t.app.get(FlowdockOutbox).repairDue()).toBeGreaterThanOrEqual(1);
    await drain(b, s.id);
    const titles = received(s.sim).map((m) => m.body.title);
    expect(titles.filter((t) => t !== 'other thread')).toEqual(['first', 'second']);
    expect(received(s.sim).map((m) => m.body.uuid)).toContain(other.uuid);
  });

  it('a 429 stops the threads in progress of the same source too, not only the next leases', async () => {
    const s = await source(b);
    // The thread due first is leased and posts first: its post is refused, while the
    // thread with ten messages has read them and is posting.
    await publish(b, s.id, snapshot(), 'first');
    const many = snapshot();
    for (let i = 0; i < 10; i++) await publish(b, s.id, many, `many ${i}`);
    sim.state.faults.push({ status: 429, retryAfter: '30' });
    await b.worker.runOnce({ sourceIds: [s.id] });
    // Without the stop, the thread with ten messages would post all (or nine) of them.
    expect(received(s.sim).length).toBeLessThan(5);
    expect((await b.delivery.counts(s.id)).pending).toBeGreaterThan(6);
  });

  it('a post waits for Flowdock’s thread id only where replies are listened to', async () => {
    const simSource = sim.state.addSource();
    const record = await b.sources.register({
      flowToken: simSource.flowToken,
      // A flow of its own: other files' sources on a shared database listen to acme/main.
      flow: `acme/thread-ids-${RUN}`,
      name: 'thread ids',
    });
    const snap = snapshot();
    const flowdockThreadId = async () => {
      const rows: { flowdock_thread_id: string | null }[] = await b.db.query(
        `SELECT flowdock_thread_id FROM flowdock_thread WHERE source_id = $1`,
        [record.id],
      );
      return rows[0].flowdock_thread_id;
    };
    // Nobody reads the flow: the post is not held up for Flowdock's answer.
    await publish(b, record.id, snap, 'first');
    await drain(b, record.id);
    expect(await flowdockThreadId()).toBeNull();
    // Once the flow has a stream token, the next post asks for the id and keeps it.
    await b.sources.setStreamGrant(record.id, { accessToken: 'a-token-that-reads-the-flow' });
    await publish(b, record.id, snap, 'second');
    await drain(b, record.id);
    const simThread = sim.state.thread(
      simSource.id,
      `github:acme/delivery-${RUN}:pull:${snap.number}`,
    );
    expect(simThread?.id).toEqual(expect.any(String));
    expect(await flowdockThreadId()).toBe(simThread!.id);
  });

  it('retries after a timeout', async () => {
    const s = await source(b);
    sim.state.faults.push({ hangMs: 1000 });
    const published = await publish(b, s.id, snapshot());
    await drain(b, s.id);
    expect(received(s.sim).map((m) => m.body.uuid)).toEqual([published.uuid]);
    const rows: { attempts: number }[] = await b.db.query(
      'SELECT attempts FROM flowdock_message WHERE uuid = $1',
      [published.uuid],
    );
    expect(rows[0].attempts).toBe(2);
  });

  it('dead-letters a refused message with its reason, and re-drives it', async () => {
    const s = await source(b);
    sim.state.faults.push({ status: 400, message: 'Validation error' });
    const published = await publish(b, s.id, snapshot());
    await drain(b, s.id);
    expect(await b.delivery.counts(s.id)).toEqual({ pending: 0, sent: 0, dead: 1 });
    const [dead] = await b.delivery.deadLetters({ sourceId: s.id });
    expect(dead).toMatchObject({
      uuid: published.uuid,
      reason: expect.stringMatching(/400.*Validation error/),
    });
    expect(await b.delivery.redrive({ messageIds: [dead.messageId] })).toBe(1);
    await drain(b, s.id);
    expect(received(s.sim).map((m) => m.body.uuid)).toEqual([published.uuid]);
    await expect(b.delivery.redrive({})).rejects.toMatchObject({ status: 400 });
  });

  it('sent messages older than the retention are pruned; recent, pending and dead ones stay', async () => {
    const s = await source(b);
    const old = await publish(b, s.id, snapshot(), 'old');
    const recent = await publish(b, s.id, snapshot(), 'recent');
    await drain(b, s.id);
    sim.state.faults.push({ status: 400, message: 'Validation error' });
    const dead = await publish(b, s.id, snapshot(), 'dead');
    await drain(b, s.id);
    const pending = await publish(b, s.id, snapshot(), 'pending');
    // Sent (and dead) three weeks ago, as far as the database knows.
    await b.db.query(
      `UPDATE flowdock_message SET sent_at = now() - interval '21 days', dead_at = now() - interval '21 days'
       WHERE id = ANY($1::bigint[])`,
      [[old.messageId, dead.messageId]],
    );
    expect(await b.t.app.get(FlowdockOutbox).pruneSent(14)).toBeGreaterThanOrEqual(1);
    const left: { id: string; status: string }[] = await b.db.query(
      `SELECT id, status FROM flowdock_message WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[old, recent, dead, pending].map((m) => m.messageId)],
    );
    expect(left).toEqual([
      { id: recent.messageId, status: 'sent' },
      { id: dead.messageId, status: 'dead' },
      { id: pending.messageId, status: 'pending' },
    ]);
  });

  it('410 disables the source, dead-letters its messages and posts nothing more', async () => {
    const s = await source(b);
    const snap = snapshot();
    await publish(b, s.id, snap, 'one');
    await drain(b, s.id);
    sim.state.removeSource(s.sim.id);
    await publish(b, s.id, snap, 'two');
    await publish(b, s.id, snapshot(), 'three');
    const before = sim.state.messages.length;
    await drain(b, s.id);
    const record = await b.sources.get(s.id);
    expect(record?.disabledAt).toBeInstanceOf(Date);
    expect(record?.disabledReason).toMatch(/410/);
    expect(await b.delivery.counts(s.id)).toEqual({ pending: 0, sent: 1, dead: 2 });
    // Later messages are kept as dead letters at once; nothing reaches Flowdock.
    const later = await publish(b, s.id, snap, 'four');
    expect(await b.delivery.counts(s.id)).toEqual({ pending: 0, sent: 1, dead: 3 });
    const dead = await b.delivery.deadLetters({ sourceId: s.id });
    expect(dead.find((d) => d.uuid === later.uuid)?.reason).toMatch(/disabled/);
    await b.delivery.redrive({ sourceId: s.id });
    await drain(b, s.id);
    expect(sim.state.messages.length).toBe(before); // Flowdock accepted nothing more
    expect(await b.delivery.counts(s.id)).toEqual({ pending: 0, sent: 1, dead: 3 });
  });
});

describe('Flowdock delivery across restarts and processes', () => {
  it('a message enqueued before a restart is delivered by the worker of the next start', async () => {
    const first = await bridge();
    const s = await source(first);
    const published = await publish(first, s.id, snapshot(), 'before restart');
    await first.t.app.close();
    expect(received(s.sim)).toHaveLength(0);

    const second = await bridge({ FLOWDOCK_DELIVERY_POLL_MS: '50' });
    try {
      for (let i = 0; i < 400 && received(s.sim).length === 0; i++) await sleep(25);
      expect(received(s.sim).map((m) => m.body.uuid)).toEqual([published.uuid]);
    } finally {
      await second.t.app.close();
    }
  });

  it('shutdown waits for the send in flight and leaves nothing leased or lost', async () => {
    const first = await bridge();
    const s = await source(first);
    sim.state.faults.push({ hangMs: 1000 });
    const published = await publish(first, s.id, snapshot(), 'in flight at shutdown');
    const pass = first.worker.runOnce({ sourceIds: [s.id] });
    await sleep(100);
    await first.t.app.close();
    await expect(pass).resolves.toBe(1);
    const second = await bridge();
    try {
      const rows: { status: string; lease_owner: string | null; last_error: string }[] =
        await second.db.query(
          `SELECT m.status, t.lease_owner, m.last_error FROM flowdock_message m
           JOIN flowdock_thread t ON t.id = m.thread_id WHERE m.uuid = $1`,
          [published.uuid],
        );
      expect(rows[0]).toMatchObject({ status: 'pending', lease_owner: null });
      expect(rows[0].last_error).toMatch(/no answer within 300 ms/);
      await second.db.query(`UPDATE flowdock_message SET available_at = now() WHERE uuid = $1`, [
        published.uuid,
      ]);
      await second.t.app.get(FlowdockOutbox).repairDue();
      await drain(second, s.id);
      expect(received(s.sim).map((m) => m.body.uuid)).toEqual([published.uuid]);
    } finally {
      await second.t.app.close();
    }
  });

  it('two workers share the queue: each message once, in order, threads end newest', async () => {
    const a = await bridge();
    const b = await bridge();
    try {
      const s = await source(a);
      const snaps = Array.from({ length: 10 }, () => snapshot());
      const expected = new Map<string, string[]>();
      for (let step = 0; step < 10; step++) {
        for (const snap of snaps) {
          const title = `step ${step}`;
          await publish(a, s.id, { ...snap, labels: [title] }, title);
          const key = `github:acme/delivery-${RUN}:pull:${snap.number}`;
          expected.set(key, [...(expected.get(key) ?? []), title]);
        }
      }
      sim.state.faults.push({ status: 500 }, { status: 429, retryAfter: '0' }, { status: 503 });
      for (let i = 0; i < 1000 && (await a.delivery.counts(s.id)).pending > 0; i++) {
        await Promise.all([
          a.worker.runOnce({ sourceIds: [s.id] }),
          b.worker.runOnce({ sourceIds: [s.id] }),
        ]);
      }
      const messages = received(s.sim);
      expect(messages).toHaveLength(100);
      expect([...sim.state.uuidCounts().values()].every((n) => n === 1)).toBe(true);
      for (const [key, titles] of expected) {
        const inThread = messages.filter((m) => m.body.external_thread_id === key);
        expect(inThread.map((m) => m.body.title)).toEqual(titles);
        const thread = sim.state.thread(s.sim.id, key)?.thread as {
          fields: { label: string; value: string }[];
        };
        expect(thread.fields.find((f) => f.label === 'Labels')?.value).toBe('step 9');
      }
    } finally {
      await Promise.all([a.t.app.close(), b.t.app.close()]);
    }
  });
});

describe('Flowdock delivery during a webhook storm', () => {
  const SECRET = 'storm-webhook-secret-0123456789abcdef';

  /**
   * Keeps this process's event loop busy nearly all the time, as webhook
   * requests pouring in would: 20 ms of work at a time, with the loop's other
   * callbacks run in between. (Scheduled with setImmediate, so the loop never
   * sleeps waiting for a timer: on a loaded machine, a process waiting to be
   * scheduled again after a timer's sleep would count that wait as idle.)
   */
  function busyEventLoop(): () => void {
    let spinning = true;
    const spin = () => {
      if (!spinning) return;
      const until = performance.now() + 20;
      while (performance.now() < until);
      setImmediate(spin);
    };
    setImmediate(spin);
    return () => {
      spinning = false;
    };
  }

  it('holds back while webhook requests queue up for the inbox and the CPU is busy, then delivers everything in order', async () => {
    // The worker runs, woken by notifications; its poll is far slower than the test.
    const b = await bridge({ FLOWDOCK_DELIVERY_POLL_MS: '3600000', GITHUB_WEBHOOK_SECRET: SECRET });
    const blocker = b.db.createQueryRunner();
    const storm = b.t.app.get(StormWatch);
    let stopSpinning = () => {};
    try {
      const s = await source(b);
      // 8 webhook requests wait for the inbox: another transaction holds their delivery ids.
      const hooks = Array.from({ length: 8 }, () =>
        signedWebhook(SECRET, 'ping', examplePayload('ping')),
      );
      await blocker.connect();
      await blocker.startTransaction();
      await blocker.query(
        `INSERT INTO github_webhook_delivery (delivery_id, event) SELECT unnest($1::text[]), 'ping'`,
        [hooks.map((h) => h.deliveryId)],
      );
      const answers = hooks.map((hook) => postWebhook(b.t.app, hook));
      const inbox = b.t.app.get(WebhookInbox);
      await waitUntil('8 requests waiting for the inbox', () => inbox.waiting === 8, 4_000);
      // Requests waiting for a slow commit while the event loop idles are no storm: holding back
      // would only delay delivery. (How busy the loop is gets measured from one call to the next.)
      storm.holdingBack();
      await sleep(200);
      expect(storm.holdingBack()).toBe(false);
      // With the event loop busy as well, they are.
      stopSpinning = busyEventLoop();
      await waitUntil('a storm seen', () => storm.holdingBack(), 4_000);

      // Meanwhile 10 threads get 30 messages each.
      const snaps = Array.from({ length: 10 }, () => snapshot());
      await b.db.transaction((manager) =>
        b.delivery.publishMany(manager, {
          snapshots: snaps.map((snap) => ({ sourceId: s.id, snapshot: snap, create: true })),
          messages: Array.from({ length: 30 }, (_, step) =>
            snaps.map((snap) => ({
              sourceId: s.id,
              externalThreadId: externalThreadId(snap),
              event: {
                event: 'activity' as const,
                author: { name: 'octocat' },
                title: `step ${step}`,
              },
            })),
          ).flat(),
        }),
      );
      // One lease of at most 4 threads, each for one read of 25 messages, then a pause.
      await waitUntil('a first message', () => received(s.sim).length > 0, 10_000);
      await sleep(150);
      const early = received(s.sim);
      expect(new Set(early.map((m) => m.body.external_thread_id)).size).toBeLessThanOrEqual(4);
      expect(early.length).toBeLessThanOrEqual(100);

      // The storm ends: every message arrives, each thread's in order.
      stopSpinning();
      await blocker.rollbackTransaction();
      expect((await Promise.all(answers)).map((r) => r.statusCode)).toEqual(Array(8).fill(202));
      await waitUntil('every message delivered', () => received(s.sim).length === 300, 20_000);
      for (const snap of snaps) {
        const inThread = received(s.sim).filter(
          (m) => m.body.external_thread_id === externalThreadId(snap),
        );
        expect(inThread.map((m) => m.body.title)).toEqual(
          Array.from({ length: 30 }, (_, step) => `step ${step}`),
        );
      }
    } finally {
      stopSpinning();
      if (blocker.isTransactionActive) await blocker.rollbackTransaction();
      await blocker.release();
      await b.t.app.close();
    }
  });
});
