import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { signActionRequest } from '../sandbox/flowdock/flowdock-action-signer';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { FlowdockDeliveryService } from '../src/delivery/flowdock-delivery.service';
import { FlowdockDeliveryWorker } from '../src/delivery/flowdock-delivery.worker';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { AuthWorld, PUBLIC_URL, startAuthWorld } from './support/auth-world';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { freshDatabase, FreshDatabase as TestDatabase } from '../sandbox/world/databases';
import { outcomeOf } from './support/webhook-deliveries';
import { inRepo, postWebhook, uniqueRepo } from './support/webhook-requests';

const METRICS_TOKEN = randomBytes(32).toString('base64url');
const WEBHOOK_SECRET = randomBytes(32).toString('base64url');

/** One sample of the text exposition format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) {
      labels[key] = value;
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** A scrape's samples, read by name and exact label set. */
class Scrape {
  readonly samples: Sample[];
  constructor(readonly text: string) {
    this.samples = parseMetrics(text);
  }
  find(name: string, labels: Record<string, string> = {}): number | undefined {
    const wanted = Object.entries(labels);
    return this.samples.find(
      (s) =>
        s.name === name &&
        Object.keys(s.labels).length === wanted.length &&
        wanted.every(([k, v]) => s.labels[k] === v),
    )?.value;
  }
  /** A counter or histogram part: 0 before its first event. */
  get(name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels) ?? 0;
  }
}

/** Polls `check` every 50 ms until it passes (the gauges are sampled at most every 2 s), or 20 s passed. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('GET /metrics', () => {
  let w: AuthWorld;
  let own: TestDatabase;
  let db: DataSource;
  let subscriptions: SubscriptionService;
  const flowTokens: string[] = [];

  beforeAll(async () => {
    // A database of its own: the backlog gauges count every pending row in it.
    own = await freshDatabase(process.env.E2E_DATABASE_URL!);
    w = await startAuthWorld({
      // Shorter than the refresh margin: each action refreshes the GitHub token first.
      githubTokenTtlMs: 60_000,
      env: {
        DATABASE_URL: own.url,
        METRICS_TOKEN,
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        FLOWDOCK_RETRY_BASE_MS: '10',
        FLOWDOCK_RETRY_MAX_MS: '20',
      },
    });
    db = w.t.app.get(DataSource);
    subscriptions = w.t.app.get(SubscriptionService);
  });
  afterAll(async () => {
    await w?.stop();
    await own?.drop();
  });

  const scrape = async (): Promise<Scrape> => {
    const res = await w.t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    return new Scrape(res.body);
  };

  const webhook = async (event: string, payload: object) => {
    const signed = signedWebhook(WEBHOOK_SECRET, event, payload);
    const res = await postWebhook(w.t.app, signed);
    expect(res.statusCode).toBe(202);
    return outcomeOf(db, signed.deliveryId);
  };

  /** A repository subscribed to a new source of the Flowdock simulator. */
  const subscribedRepo = async () => {
    const repo = uniqueRepo();
    const source = w.flowdock.state.addSource();
    flowTokens.push(source.flowToken);
    const sub = await subscriptions.add({ repositoryPattern: repo, flowToken: source.flowToken });
    return { repo, sourceId: sub.sourceId };
  };

  it('asks for METRICS_TOKEN: 401 in the JSON error shape without it or with another, 200 with it', async () => {
    const ask = (headers: Record<string, string>) =>
      w.t.app.inject({ method: 'GET', url: '/metrics', headers });
    const refused: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${METRICS_TOKEN}x` },
      { authorization: `Basic ${METRICS_TOKEN}` },
      { authorization: `Bearer ${WEBHOOK_SECRET}` },
    ];
    for (const headers of refused) {
      const res = await ask(headers);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.stringContaining('METRICS_TOKEN'),
      });
    }
    const ok = await ask({ authorization: `bearer ${METRICS_TOKEN}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = new Scrape(ok.body);
    // Node's default metrics, and the database gauges of this scrape.
    expect(metrics.find('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(metrics.find('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(metrics.find('bridge_database_up')).toBe(1);
    expect(metrics.find('bridge_flowdock_sends_total', { class: '2xx' })).toBe(0);
    // Scrapes are not in the request log (refusals are said once, by the guard).
    const scrapeLines = w.t.logs.filter((l) => l.includes('"url":"/metrics'));
    expect(scrapeLines).toEqual([]);
    expect(w.t.logs.filter((l) => l.includes('Metrics scrape refused'))).toHaveLength(4);
  });

  it('counts a webhook by event and outcome once settled, and observes its processing lag', async () => {
    const before = await scrape();
    const { repo } = await subscribedRepo();
    const opened = inRepo(examplePayload('pull_request', 'opened'), repo);
    expect((await webhook('pull_request', opened)).outcome).toBe('published');
    const ping = signedWebhook(WEBHOOK_SECRET, 'ping', examplePayload('ping'));
    expect((await postWebhook(w.t.app, ping)).statusCode).toBe(202);
    expect((await postWebhook(w.t.app, ping)).statusCode).toBe(200);
    const forged = signedWebhook('not-the-secret-0123456789abcdef', 'ping', examplePayload('ping'));
    expect((await postWebhook(w.t.app, forged)).statusCode).toBe(401);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) =>
      after.get(name, labels) - before.get(name, labels);
    const received = 'bridge_github_webhooks_received_total';
    expect(delta(received, { event: 'pull_request', outcome: 'published' })).toBe(1);
    expect(delta(received, { event: 'ping', outcome: 'ping' })).toBe(1);
    expect(delta(received, { event: 'ping', outcome: 'duplicate' })).toBe(1);
    expect(delta('bridge_github_webhook_requests_refused_total', { code: '401' })).toBe(1);
    // Settled on arrival (ping) is not processing: one lag observed, for the pull request.
    expect(delta('bridge_github_webhook_processing_lag_seconds_count')).toBe(1);
    expect(delta('bridge_github_webhook_processing_lag_seconds_bucket', { le: '+Inf' })).toBe(1);
  });

  it('backlog gauges: pending outbox messages, and an inbox delivery held behind its thread', async () => {
    const { repo } = await subscribedRepo();
    expect(
      (await webhook('issues', inRepo(examplePayload('issues', 'opened'), repo))).outcome,
    ).toBe('published');
    const [{ pending }] = await db.query<{ pending: number }[]>(
      `SELECT count(*)::int AS pending FROM flowdock_message WHERE status = 'pending'`,
    );
    expect(pending).toBeGreaterThan(0);
    const outbox = await eventually(
      scrape,
      (m) => m.find('bridge_queue_pending_items', { queue: 'flowdock_outbox' }) === pending,
    );
    expect(outbox.find('bridge_queue_pending_items', { queue: 'flowdock_outbox' })).toBe(pending);
    expect(
      outbox.find('bridge_queue_oldest_pending_age_seconds', { queue: 'flowdock_outbox' }),
    ).toBeGreaterThanOrEqual(0);

    // The processor cannot take a thread whose lock another transaction holds.
    const holder = new Client({ connectionString: own.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT pg_advisory_xact_lock(hashtext('github_thread:' || lower($1) || ':issue:1'))`,
        [repo],
      );
      const before = await scrape();
      // Stored an hour ago (as if the processor had been stuck since).
      await db.query(
        `INSERT INTO github_webhook_delivery
           (delivery_id, event, action, repository, item_kind, item_number, received_at)
         VALUES ($1, 'issues', 'edited', $2, 'issue', 1, now() - interval '1 hour')`,
        [`held-${randomBytes(6).toString('hex')}`, repo],
      );
      const held = await eventually(
        scrape,
        (m) => m.find('bridge_queue_pending_items', { queue: 'github_inbox' }) === 1,
      );
      expect(held.find('bridge_queue_pending_items', { queue: 'github_inbox' })).toBe(1);
      expect(
        held.find('bridge_queue_oldest_pending_age_seconds', { queue: 'github_inbox' }),
      ).toBeGreaterThanOrEqual(3600);
      await holder.query('COMMIT');

      const drained = await eventually(
        scrape,
        (m) => m.find('bridge_queue_pending_items', { queue: 'github_inbox' }) === 0,
      );
      expect(drained.find('bridge_queue_pending_items', { queue: 'github_inbox' })).toBe(0);
      expect(
        drained.find('bridge_queue_oldest_pending_age_seconds', { queue: 'github_inbox' }),
      ).toBe(0);
      // Its lag (an hour) went into the histogram: past the last finite bucket.
      const lag = 'bridge_github_webhook_processing_lag_seconds';
      expect(drained.get(`${lag}_count`) - before.get(`${lag}_count`)).toBe(1);
      expect(drained.get(`${lag}_sum`) - before.get(`${lag}_sum`)).toBeGreaterThanOrEqual(3600);
      expect(drained.get(`${lag}_bucket`, { le: '60' })).toBe(
        before.get(`${lag}_bucket`, { le: '60' }),
      );
      expect(
        drained.get('bridge_github_webhooks_received_total', {
          event: 'issues',
          outcome: 'failed',
        }),
      ).toBe(
        before.get('bridge_github_webhooks_received_total', {
          event: 'issues',
          outcome: 'failed',
        }) + 1,
      );
    } finally {
      await holder.end();
    }
  });

  it('counts Flowdock sends by answer class, scheduled retries, dead letters and disabled sources', async () => {
    const worker = w.t.app.get(FlowdockDeliveryWorker);
    const delivery = w.t.app.get(FlowdockDeliveryService);
    const { repo, sourceId } = await subscribedRepo();
    const before = await scrape();
    await webhook('issues', inRepo(examplePayload('issues', 'opened'), repo));
    expect(await worker.runOnce({ sourceIds: [sourceId] })).toBe(1);

    w.flowdock.state.faults.push({ status: 503 });
    await webhook('issues', inRepo(examplePayload('issues', 'reopened'), repo));
    await worker.runOnce({ sourceIds: [sourceId] });
    const failed = await scrape();
    expect(failed.get('bridge_flowdock_sends_total', { class: '2xx' })).toBe(
      before.get('bridge_flowdock_sends_total', { class: '2xx' }) + 1,
    );
    expect(failed.get('bridge_flowdock_sends_total', { class: '5xx' })).toBe(
      before.get('bridge_flowdock_sends_total', { class: '5xx' }) + 1,
    );
    expect(failed.get('bridge_flowdock_retries_scheduled_total')).toBe(
      before.get('bridge_flowdock_retries_scheduled_total') + 1,
    );

    // 410 Gone: the source is disabled and its pending message dead-lettered.
    w.flowdock.state.faults.push({ status: 410, message: 'Source removed' });
    for (let i = 0; i < 100 && (await delivery.counts(sourceId)).pending > 0; i++) {
      await worker.runOnce({ sourceIds: [sourceId] });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const gone = await eventually(
      scrape,
      (m) => m.find('bridge_flowdock_sources', { state: 'disabled' }) === 1,
    );
    expect(gone.find('bridge_flowdock_sources', { state: 'disabled' })).toBe(1);
    expect(gone.find('bridge_flowdock_sources', { state: 'paused' })).toBe(0);
    expect(gone.get('bridge_flowdock_sends_total', { class: '4xx' })).toBe(
      before.get('bridge_flowdock_sends_total', { class: '4xx' }) + 1,
    );
    expect(gone.get('bridge_flowdock_dead_letters_total', { reason: 'source_disabled' })).toBe(
      before.get('bridge_flowdock_dead_letters_total', { reason: 'source_disabled' }) + 1,
    );
  });

  it('counts actions by action and outcome with their latency, token refreshes and revocations', async () => {
    const owner = `acme-${randomBytes(4).toString('hex')}`;
    const repository = `${owner}/widgets`;
    w.repos.addRepo(repository, { permissions: { [w.ghUsers.octocat.login]: 'write' } });
    w.repos.addItem(repository, { number: 5, kind: 'pull' });
    const { page } = await w.link(w.browser(), w.fd('alice'), w.fd('alice'), w.ghUsers.octocat.id);
    expect(page.status).toBe(200);
    const click = (user: 'alice' | 'bob', path: string) => {
      const url = `/flowdock/actions/${repository}/${path}`;
      const signed = signActionRequest(
        { name: 'An action', urlTemplate: PUBLIC_URL + url },
        { clientSecret: w.env.FLOWDOCK_CLIENT_SECRET, userId: w.fd(user) },
      );
      return w.t.app.inject({
        method: 'POST',
        url,
        headers: signed.headers,
        payload: signed.payload,
      });
    };

    const before = await scrape();
    expect((await click('alice', 'pulls/5/assign-to-me')).statusCode).toBe(200);
    expect((await click('bob', 'pulls/5/close')).statusCode).toBe(401);
    expect((await click('alice', 'pulls/999/close')).statusCode).toBe(404);
    const revoked = examplePayload('github_app_authorization', 'revoked');
    revoked.sender.id = w.ghUsers.octocat.id;
    expect((await webhook('github_app_authorization', revoked)).outcome).toBe(
      'authorization-revoked',
    );
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) =>
      after.get(name, labels) - before.get(name, labels);
    expect(delta('bridge_actions_total', { action: 'assign-to-me', outcome: 'performed' })).toBe(1);
    expect(delta('bridge_actions_total', { action: 'close', outcome: 'challenged' })).toBe(1);
    expect(delta('bridge_actions_total', { action: 'close', outcome: 'refused' })).toBe(1);
    expect(delta('bridge_action_duration_seconds_count', { outcome: 'performed' })).toBe(1);
    expect(delta('bridge_action_duration_seconds_sum', { outcome: 'performed' })).toBeGreaterThan(
      0,
    );
    expect(delta('bridge_action_duration_seconds_count', { outcome: 'challenged' })).toBe(1);
    // Alice's two clicks each refreshed her expiring token.
    expect(delta('bridge_github_token_refreshes_total', { outcome: 'ok' })).toBe(2);
    expect(delta('bridge_github_token_refreshes_total', { outcome: 'failed' })).toBe(0);
    expect(delta('bridge_github_revocations_total', { source: 'webhook' })).toBe(1);
  });

  it('shows no secret, token or flow token', async () => {
    const { text } = await scrape();
    const secrets = [
      METRICS_TOKEN,
      WEBHOOK_SECRET,
      w.env.COOKIE_SECRET,
      w.env.TOKEN_ENCRYPTION_KEY,
      w.env.FLOWDOCK_CLIENT_SECRET,
      w.env.GITHUB_CLIENT_SECRET,
      ...flowTokens,
      ...w.secretsSeen(),
    ];
    expect(secrets.length).toBeGreaterThan(8);
    expect(secrets.filter((secret) => text.includes(secret))).toEqual([]);
    await w.expectNoLeaks();
  });
});

describe('GET /metrics without METRICS_TOKEN, and while the database is away', () => {
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    const through = await TcpProxy.inFrontOf(process.env.E2E_DATABASE_URL!);
    proxy = through.proxy;
    t = await startTestApp(testEnvironment({ DATABASE_URL: through.url, AUTH_RATE_LIMIT: '2' }));
  });
  afterAll(async () => {
    await t?.app.close();
    await proxy?.stop();
  });

  const scrape = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return new Scrape(res.body);
  };

  it('is open, and not rate-limited like the sign-in pages', async () => {
    for (let i = 0; i < 5; i++) await scrape();
  });

  it('answers without the database gauges and with bridge_database_up 0, then recovers', async () => {
    expect((await scrape()).find('bridge_database_up')).toBe(1);
    await proxy.stop();
    try {
      const down = await eventually(scrape, (m) => m.find('bridge_database_up') === 0);
      expect(down.find('bridge_database_up')).toBe(0);
      expect(down.find('bridge_queue_pending_items', { queue: 'github_inbox' })).toBeUndefined();
      expect(down.find('bridge_flowdock_sources', { state: 'disabled' })).toBeUndefined();
      expect(down.find('bridge_flowdock_sends_total', { class: '2xx' })).toBe(0);
      expect(down.find('process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await proxy.start();
    }
    const up = await eventually(scrape, (m) => m.find('bridge_database_up') === 1);
    expect(up.find('bridge_database_up')).toBe(1);
    expect(up.find('bridge_queue_pending_items', { queue: 'github_inbox' })).toBeGreaterThanOrEqual(
      0,
    );
  });
});
