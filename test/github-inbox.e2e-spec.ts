import { randomBytes, randomUUID } from 'node:crypto';
import type { IssuesLabeledEvent } from '@octokit/webhooks-types';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signBody, signedWebhook } from '../sandbox/github/webhook-sender';
import { DatabaseNotifications } from '../src/database/database-notifications';
import { ThreadSnapshot } from '../src/threads/thread-snapshot';
import { MAX_TEXT_LENGTH, TRUNCATED_MARKER } from '../src/threads/bounded-text';
import { InboxEntry } from '../src/webhooks/delivery-intake';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { WebhookInbox } from '../src/webhooks/webhook-inbox';
import { TcpProxy } from './support/tcp-proxy';
import { waitUntil } from '../sandbox/world/processes';
import { freshDatabase, FreshDatabase as TestDatabase } from '../sandbox/world/databases';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { outcomeOf } from './support/webhook-deliveries';
import { inRepo, postWebhook, uniqueRepo as anyRepo } from './support/webhook-requests';

const SECRET = 'inbox-webhook-secret-0123456789abcdef';

type Webhook = ReturnType<typeof signedWebhook>;

const post = (t: TestApp, webhook: { headers: Record<string, string>; body: string }) =>
  postWebhook(t.app, webhook);

const uniqueRepo = () => anyRepo(`inbox${randomBytes(4).toString('hex')}`);

/** The `issues.labeled` example for `repo`, issue `number`, adding `label` at `second` past a fixed minute. */
function labeled(repo: string, number: number, label: string, second: number) {
  const payload = examplePayload('issues', 'labeled') as IssuesLabeledEvent;
  inRepo(payload, repo);
  payload.issue.number = number;
  payload.issue.updated_at = new Date(Date.UTC(2030, 0, 1, 0, 0, second)).toISOString();
  payload.label = { ...payload.label!, name: label };
  payload.issue.labels = [payload.label];
  return payload;
}

/**
 * The webhook path as GitHub sees it: one durable write and a 2xx, whatever
 * the payload holds or the database does; processing afterwards, once and in
 * order, however many replicas share the work.
 */
describe('the webhook inbox and its processing', () => {
  let t: TestApp;
  let db: DataSource;
  let subscriptions: SubscriptionService;

  beforeAll(async () => {
    t = await startTestApp(testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET }));
    db = t.app.get(DataSource);
    subscriptions = t.app.get(SubscriptionService);
  });
  afterAll(() => t?.app.close());

  const subscribed = async () => {
    const repo = uniqueRepo();
    await subscriptions.add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
    return repo;
  };

  describe('payloads the mapper does not expect: 202, then a failed outcome with the reason', () => {
    type PullRequestPayload = ReturnType<typeof examplePayload<'pull_request'>>;
    const cases: [string, (p: PullRequestPayload) => void, RegExp][] = [
      [
        'labels a string',
        (p) => ((p.pull_request as { labels: unknown }).labels = 'bug'),
        /labels/,
      ],
      ['head null', (p) => ((p.pull_request as { head: unknown }).head = null), /shape/],
      ['number a string', (p) => ((p.pull_request as { number: unknown }).number = '2'), /number/],
      ['updated_at not a time', (p) => (p.pull_request.updated_at = 'yesterday'), /updated_at/],
      ['no sender login', (p) => ((p.sender as { login: unknown }).login = 42), /sender/],
    ];
    it.each(cases)('%s', async (_name, mutate, reason) => {
      const repo = await subscribed();
      const payload = examplePayload('pull_request', 'opened');
      payload.repository.full_name = repo;
      mutate(payload);
      const webhook = signedWebhook(SECRET, 'pull_request', payload);
      const res = await post(t, webhook);
      expect(res.statusCode).toBe(202);
      const outcome = await outcomeOf(db, webhook.deliveryId);
      expect(outcome).toMatchObject({ outcome: 'failed', messages: 0 });
      expect(outcome.reason).toMatch(reason);
      // Nothing half-applied.
      const threads = await db.query(`SELECT 1 FROM github_thread WHERE repository = $1`, [repo]);
      expect(threads).toEqual([]);
      // The redelivery is a duplicate, not a second failure.
      expect((await post(t, webhook)).statusCode).toBe(200);
    });
  });

  it('U+0000 and lone surrogates in GitHub text are stored as U+FFFD and announced', async () => {
    const repo = await subscribed();
    const payload = examplePayload('issues', 'opened');
    payload.repository.full_name = repo;
    payload.issue.title = 'null \u0000 byte';
    payload.issue.body = 'lone \ud800 surrogate';
    // JSON.stringify escapes both, as GitHub's JSON would carry them.
    const webhook = signedWebhook(SECRET, 'issues', payload);
    expect(webhook.body).toContain('\\u0000');
    expect((await post(t, webhook)).statusCode).toBe(202);
    expect(await outcomeOf(db, webhook.deliveryId)).toMatchObject({ outcome: 'published' });
    const [row] = await db.query<{ snapshot: ThreadSnapshot }[]>(
      `SELECT snapshot FROM github_thread WHERE repository = $1`,
      [repo],
    );
    expect(row.snapshot.title).toBe('null \uFFFD byte');
    expect(row.snapshot.body).toBe('lone \uFFFD surrogate');
  });

  it('a body of megabytes is kept to what Flowdock shows, and nothing of the payload stays', async () => {
    const repo = await subscribed();
    const payload = examplePayload('issues', 'opened');
    payload.repository.full_name = repo;
    payload.issue.body = 'A long story. '.repeat(150_000); // 2.1 MB
    const webhook = signedWebhook(SECRET, 'issues', payload);
    expect((await post(t, webhook)).statusCode).toBe(202);
    expect(await outcomeOf(db, webhook.deliveryId)).toMatchObject({ outcome: 'published' });

    const [row] = await db.query<{ body: string; stored: number }[]>(
      `SELECT g.snapshot->>'body' AS body,
              (pg_column_size(g.snapshot) + pg_column_size(t.snapshot)
                + (SELECT coalesce(sum(pg_column_size(m.event)), 0) FROM flowdock_message m WHERE m.thread_id = t.id)
                + (SELECT coalesce(pg_column_size(d.work), 0) FROM github_webhook_delivery d WHERE d.delivery_id = $2)
                )::int AS stored
         FROM github_thread g JOIN flowdock_thread t ON t.external_thread_id = 'github:' || g.repository || ':issue:' || g.number
        WHERE g.repository = $1`,
      [repo, webhook.deliveryId],
    );
    expect(row.body.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    expect(row.body.endsWith(TRUNCATED_MARKER)).toBe(true);
    // Two snapshots and a message, each with at most the bounded body (jsonb may compress it).
    expect(row.stored).toBeLessThan(3 * MAX_TEXT_LENGTH + 10_000);
  });

  it('a value PostgreSQL refuses fails its own delivery only, never its batch', async () => {
    const inbox = t.app.get(WebhookInbox);
    const entry = (reason: string): InboxEntry => ({
      deliveryId: randomUUID(),
      event: 'pull_request',
      action: 'opened',
      repository: 'acme/inbox-refused',
      item: null,
      work: null,
      outcome: 'failed',
      reason,
    });
    // Side by side: the first two go at once, the rest share one INSERT; one carries U+0000.
    const entries = Array.from({ length: 12 }, (_, i) =>
      entry(i === 6 ? 'bad \u0000 byte' : `#${i}`),
    );
    const answers = await Promise.all(entries.map((e) => inbox.append(e)));
    expect(answers).toEqual(entries.map(() => 'accepted'));
    const rows = await db.query<{ delivery_id: string; reason: string; repository: string }[]>(
      `SELECT delivery_id, reason, repository FROM github_webhook_delivery WHERE delivery_id = ANY($1)`,
      [entries.map((e) => e.deliveryId)],
    );
    const byId = new Map(rows.map((r) => [r.delivery_id, r]));
    for (const [i, e] of entries.entries())
      if (i !== 6) expect(byId.get(e.deliveryId)).toMatchObject({ reason: `#${i}` });
    expect(byId.get(entries[6].deliveryId)).toMatchObject({
      reason: expect.stringMatching(/^PostgreSQL refused its content: /),
      repository: null,
    });
  });

  it('a storm on one thread: applied in arrival order, one message each, the newest state kept', async () => {
    const repo = await subscribed();
    const hooks = Array.from({ length: 60 }, (_, i) =>
      signedWebhook(SECRET, 'issues', labeled(repo, 7, `step-${i}`, i)),
    );
    // Sequential posts fix the arrival order; processing runs meanwhile.
    for (const hook of hooks) expect((await post(t, hook)).statusCode).toBe(202);
    for (const hook of hooks) {
      expect((await outcomeOf(db, hook.deliveryId)).outcome).toBe('published');
    }
    const titles = await db.query<{ title: string }[]>(
      `SELECT m.event->>'title' AS title FROM flowdock_message m
       JOIN flowdock_thread t ON t.id = m.thread_id
       WHERE t.external_thread_id = $1 ORDER BY m.id`,
      [`github:${repo}:issue:7`],
    );
    expect(titles.map((r) => r.title)).toEqual(hooks.map((_, i) => `added label step-${i}`));
    const [thread] = await db.query<{ snapshot: ThreadSnapshot }[]>(
      `SELECT snapshot FROM github_thread WHERE repository = $1 AND number = 7`,
      [repo],
    );
    expect(thread.snapshot.labels).toEqual(['step-59']);
  });

  it('counts the webhook requests waiting to be stored (a storm, for the processor), and stores them once it can', async () => {
    const inbox = t.app.get(WebhookInbox);
    const repo = await subscribed();
    const hooks = Array.from({ length: 8 }, (_, i) =>
      signedWebhook(SECRET, 'issues', labeled(repo, 1, `held-${i}`, i)),
    );
    // Another transaction holds the same delivery ids, not yet committed: the inbox's INSERT
    // waits for it, and the requests queue up as they would behind a slow commit.
    const blocker = db.createQueryRunner();
    await blocker.connect();
    try {
      await blocker.startTransaction();
      await blocker.query(
        `INSERT INTO github_webhook_delivery (delivery_id, event)
         SELECT unnest($1::text[]), 'issues'`,
        [hooks.map((h) => h.deliveryId)],
      );
      const answers = hooks.map((hook) => post(t, hook));
      await waitUntil('8 requests waiting for the inbox', () => inbox.waiting === 8, 4_000);
      await blocker.rollbackTransaction();
      expect((await Promise.all(answers)).map((r) => r.statusCode)).toEqual(Array(8).fill(202));
      expect(inbox.waiting).toBe(0);
      for (const hook of hooks) {
        expect((await outcomeOf(db, hook.deliveryId)).outcome).toBe('published');
      }
    } finally {
      if (blocker.isTransactionActive) await blocker.rollbackTransaction();
      await blocker.release();
    }
  });

  describe('with the database unreachable', () => {
    let proxy: TcpProxy;
    let own: TestDatabase;
    let app: TestApp;

    beforeAll(async () => {
      own = await freshDatabase(process.env.E2E_DATABASE_URL!);
      const through = await TcpProxy.inFrontOf(own.url);
      proxy = through.proxy;
      app = await startTestApp(
        testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET, DATABASE_URL: through.url }),
      );
    });
    afterAll(async () => {
      await app?.app.close();
      await proxy?.stop();
      await own?.drop();
    });

    it('answers 503 with Retry-After, and loses nothing it accepted before', async () => {
      const repo = uniqueRepo();
      await app.app
        .get(SubscriptionService)
        .add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
      const accepted: Webhook[] = [];
      for (let i = 0; i < 20; i++) {
        const hook = signedWebhook(SECRET, 'issues', labeled(repo, 1 + (i % 4), `l${i}`, i));
        expect((await post(app, hook)).statusCode).toBe(202);
        accepted.push(hook);
      }
      await proxy.stop();

      const refused = signedWebhook(SECRET, 'issues', labeled(repo, 9, 'late', 30));
      const res = await post(app, refused);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('30');
      expect(res.json()).toMatchObject({
        statusCode: 503,
        message: expect.stringContaining('not stored'),
      });

      await proxy.start();
      // GitHub's redelivery of the refused one, and everything accepted before, all processed.
      expect((await post(app, refused)).statusCode).toBe(202);
      const ownDb = app.app.get(DataSource);
      for (const hook of [...accepted, refused]) {
        expect((await outcomeOf(ownDb, hook.deliveryId)).outcome).toBe('published');
      }
      const [{ n }] = await ownDb.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
         WHERE t.external_thread_id LIKE $1`,
        [`github:${repo}:%`],
      );
      expect(n).toBe(21);
    });
  });

  it('two replicas on one database process 1,000 deliveries for 50 threads exactly once, in order per thread', async () => {
    const own = await freshDatabase(process.env.E2E_DATABASE_URL!);
    const env = () => testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET, DATABASE_URL: own.url });
    const replicas = [await startTestApp(env()), await startTestApp(env())];
    try {
      const ownDb = replicas[0].app.get(DataSource);
      const repo = uniqueRepo();
      await replicas[0].app
        .get(SubscriptionService)
        .add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
      const hooks: { hook: Webhook; thread: number; step: number }[] = [];
      for (let step = 0; step < 20; step++) {
        for (let thread = 1; thread <= 50; thread++) {
          const hook = signedWebhook(SECRET, 'issues', labeled(repo, thread, `s${step}`, step));
          hooks.push({ hook, thread, step });
        }
      }
      // Arrival order per thread is fixed: each thread's webhooks go one after another, alternating replicas.
      for (let i = 0; i < hooks.length; i += 50) {
        const round = hooks.slice(i, i + 50);
        const codes = await Promise.all(
          round.map(({ hook }, j) => post(replicas[(i / 50 + j) % 2], hook)),
        );
        expect(codes.map((c) => c.statusCode)).toEqual(round.map(() => 202));
      }
      for (const { hook } of hooks) {
        expect((await outcomeOf(ownDb, hook.deliveryId)).outcome).toBe('published');
      }
      const rows = await ownDb.query<{ thread: string; title: string }[]>(
        `SELECT t.external_thread_id AS thread, m.event->>'title' AS title
         FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id ORDER BY m.id`,
      );
      expect(rows).toHaveLength(1000);
      for (let thread = 1; thread <= 50; thread++) {
        const titles = rows
          .filter((r) => r.thread === `github:${repo}:issue:${thread}`)
          .map((r) => r.title);
        expect(titles).toEqual(Array.from({ length: 20 }, (_, s) => `added label s${s}`));
      }
    } finally {
      for (const replica of replicas) await replica.app.close();
      await own.drop();
    }
  }, 120_000);

  it('a form field "payload" that is not an object -> 400, nothing stored', async () => {
    const body = new URLSearchParams({ payload: '[1,2]' }).toString();
    const deliveryId = randomUUID();
    const res = await post(t, {
      body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'issues',
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': signBody(SECRET, body),
      },
    });
    expect(res.statusCode).toBe(400);
    expect(
      await db.query(`SELECT 1 FROM github_webhook_delivery WHERE delivery_id = $1`, [deliveryId]),
    ).toEqual([]);
  });
});

// The simulator is used by the delivery test below.
describe('webhooks reach Flowdock without waiting for a poll', () => {
  let sim: FlowdockSimulator;
  let own: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    sim = await FlowdockSimulator.start({
      clientId: 'fd',
      clientSecret: 'fd-secret-0123456789abcdef',
    });
    own = await freshDatabase(process.env.E2E_DATABASE_URL!);
    t = await startTestApp(
      testEnvironment({
        GITHUB_WEBHOOK_SECRET: SECRET,
        DATABASE_URL: own.url,
        FLOWDOCK_API_URL: sim.url,
        // The worker runs; its poll is far slower than the test waits, so only a wake-up delivers.
        FLOWDOCK_DELIVERY_POLL_MS: '3600000',
      }),
    );
  });
  afterAll(async () => {
    await t?.app.close();
    await sim?.stop();
    await own?.drop();
  });

  it("a thread's messages arrive in order, the newest state last", async () => {
    const source = sim.state.addSource();
    const repo = uniqueRepo();
    await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: repo, flowToken: source.flowToken });
    const hooks = Array.from({ length: 25 }, (_, i) =>
      signedWebhook(SECRET, 'issues', labeled(repo, 3, `n${i}`, i)),
    );
    for (const hook of hooks) expect((await post(t, hook)).statusCode).toBe(202);
    const deadline = Date.now() + 20_000;
    const mine = () => sim.state.messages.filter((m) => m.sourceId === source.id);
    while (mine().length < hooks.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const received = mine();
    expect(received.map((m) => m.body.title)).toEqual(hooks.map((_, i) => `added label n${i}`));
    const last = received[received.length - 1].body.thread as {
      fields: { label: string; value: string }[];
    };
    expect(last.fields.find((f) => f.label === 'Labels')?.value).toContain('n24');
  });

  it('a webhook taken by a replica without a worker reaches Flowdock at once through this one', async () => {
    const source = sim.state.addSource();
    const repo = uniqueRepo();
    await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: repo, flowToken: source.flowToken });
    // A second replica without a delivery worker takes the webhook: whichever replica
    // processes it, the database's notifications must bring this one's worker.
    const other = await startTestApp(
      testEnvironment({
        GITHUB_WEBHOOK_SECRET: SECRET,
        DATABASE_URL: own.url,
        FLOWDOCK_API_URL: sim.url,
        FLOWDOCK_DELIVERY_POLL_MS: '0',
      }),
    );
    try {
      const hook = signedWebhook(SECRET, 'issues', labeled(repo, 4, 'elsewhere', 0));
      expect((await post(other, hook)).statusCode).toBe(202);
      const deadline = Date.now() + 20_000;
      while (!sim.state.messages.some((m) => m.sourceId === source.id) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(
        sim.state.messages.filter((m) => m.sourceId === source.id).map((m) => m.body.title),
      ).toEqual(['added label elsewhere']);
    } finally {
      await other.app.close();
    }
  });

  it('the triggers NOTIFY every replica: rows stored by anyone wake this one', async () => {
    const notifications = t.app.get(DatabaseNotifications);
    const heard: string[] = [];
    notifications.on('github_inbox', () => heard.push('github_inbox'));
    notifications.on('flowdock_outbox', () => heard.push('flowdock_outbox'));
    // A plain connection, not this app's: as another replica would write.
    const client = new Client({ connectionString: own.url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO github_webhook_delivery (delivery_id, event, outcome, processed_at)
         VALUES ($1, 'ping', 'ping', now())`,
        [randomUUID()],
      );
      const deadline = Date.now() + 10_000;
      while (!heard.includes('github_inbox') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(heard).toContain('github_inbox');
      expect(heard).not.toContain('flowdock_outbox');
    } finally {
      await client.end();
    }
  });
});
