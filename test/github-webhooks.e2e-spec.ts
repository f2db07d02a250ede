import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signBody, signedWebhook } from '../sandbox/github/webhook-sender';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { ThreadSnapshot } from '../src/threads/thread-snapshot';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { freshDatabase } from '../sandbox/world/databases';
import { outcomeOf } from './support/webhook-deliveries';
import { inRepo, postWebhook, uniqueRepo } from './support/webhook-requests';

interface MessageRow {
  source_id: string;
  kind: string;
  number: number;
  event: string;
  title: string;
  body: string | null;
  author: { name: string; avatar?: string };
}

const SECRET = 'current-webhook-secret-0123456789abcdef';
const PREVIOUS = 'previous-webhook-secret-0123456789abcdef';

describe('POST /github/webhooks', () => {
  let t: TestApp;
  let db: DataSource;
  let subscriptions: SubscriptionService;

  beforeAll(async () => {
    t = await startTestApp(
      testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_WEBHOOK_SECRET_PREVIOUS: PREVIOUS }),
    );
    db = t.app.get(DataSource);
    subscriptions = t.app.get(SubscriptionService);
  });
  afterAll(() => t?.app.close());

  const post = (webhook: { headers: Record<string, string>; body: string }) =>
    postWebhook(t.app, webhook);

  const deliveryRow = async (id: string): Promise<{ outcome: string | null } | undefined> =>
    (
      await db.query<{ outcome: string | null }[]>(
        `SELECT outcome FROM github_webhook_delivery WHERE delivery_id = $1`,
        [id],
      )
    )[0];
  /** Posts a webhook, expects 202 accepted, and waits for what processing made of it. */
  const deliver = async (webhook: {
    headers: Record<string, string>;
    body: string;
    deliveryId: string;
  }) => {
    const res = await post(webhook);
    expect({ status: res.statusCode, body: res.json() }).toEqual({
      status: 202,
      body: { status: 'accepted' },
    });
    return outcomeOf(db, webhook.deliveryId);
  };
  const messagesOf = (repository: string) =>
    db.query<MessageRow[]>(
      `SELECT t.source_id, split_part(t.external_thread_id, ':', 3) AS kind,
              split_part(t.external_thread_id, ':', 4)::int AS number, m.event->>'event' AS event,
              m.event->>'title' AS title, m.event->>'body' AS body, m.event->'author' AS author
       FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
       WHERE t.external_thread_id LIKE 'github:' || $1 || ':%' ORDER BY m.id`,
      [repository],
    );
  const threadOf = async (repository: string, kind: string, number: number) =>
    (
      await db.query<{ snapshot: ThreadSnapshot }[]>(
        `SELECT snapshot FROM github_thread WHERE repository = $1 AND kind = $2 AND number = $3`,
        [repository, kind, number],
      )
    )[0]?.snapshot;

  it('pull_request.opened for a subscribed repository: 202, then processed: thread stored, message enqueued', async () => {
    const repo = uniqueRepo();
    const sub = await subscriptions.add({
      repositoryPattern: repo,
      flowToken: `flow-${randomUUID()}`,
    });
    const webhook = signedWebhook(
      SECRET,
      'pull_request',
      inRepo(examplePayload('pull_request', 'opened'), repo),
    );
    expect(await deliver(webhook)).toEqual({ outcome: 'published', reason: null, messages: 1 });
    expect(await messagesOf(repo)).toEqual([
      {
        source_id: sub.sourceId,
        kind: 'pull',
        number: 2,
        event: 'activity',
        title: 'opened pull request',
        body: null,
        author: { name: 'Codertocat', avatar: expect.stringContaining('avatars') },
      },
    ]);
    expect(await threadOf(repo, 'pull', 2)).toMatchObject({
      repository: repo,
      state: 'open',
      title: expect.any(String),
    });
  });

  it('logs each delivery with its id and outcome, never the secret', async () => {
    const webhook = signedWebhook(SECRET, 'ping', examplePayload('ping'));
    await post(webhook);
    const lines = t.logs.filter((line) => line.includes(webhook.deliveryId));
    const entry = lines
      .map((line) => JSON.parse(line) as { deliveryId?: string; outcome?: string; msg?: string })
      .find((e) => e.deliveryId === webhook.deliveryId);
    expect(entry).toMatchObject({
      deliveryId: webhook.deliveryId,
      outcome: 'ping',
      msg: 'GitHub delivery',
    });
    expect(t.logs.join('\n')).not.toContain(SECRET);
  });

  it('a redelivery (same delivery id) answers 200 and produces nothing new', async () => {
    const repo = uniqueRepo();
    await subscriptions.add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
    const webhook = signedWebhook(
      SECRET,
      'issues',
      inRepo(examplePayload('issues', 'opened'), repo),
    );
    expect((await deliver(webhook)).outcome).toBe('published');
    const again = await post(webhook);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: 'duplicate' });
    expect(await messagesOf(repo)).toHaveLength(1);
  });

  it('the previous secret is accepted during a rotation', async () => {
    const repo = uniqueRepo();
    const webhook = signedWebhook(
      PREVIOUS,
      'issues',
      inRepo(examplePayload('issues', 'opened'), repo),
    );
    // No subscription and no FLOWDOCK_FLOW_TOKEN: dropped, and the log says why.
    expect(await deliver(webhook)).toEqual({
      outcome: 'dropped',
      reason: 'no subscription',
      messages: 0,
    });
  });

  it('a bad signature -> 401 naming the setting, nothing stored', async () => {
    const webhook = signedWebhook(
      'some-other-secret',
      'issues',
      examplePayload('issues', 'opened'),
    );
    const res = await post(webhook);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: expect.stringContaining('GITHUB_WEBHOOK_SECRET'),
    });
    expect(await deliveryRow(webhook.deliveryId)).toBeUndefined();
    // One line says so, naming the delivery, never the signature or the body.
    const lines = t.logs.filter((line) => line.includes(webhook.deliveryId));
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        msg: 'GitHub webhook refused',
        statusCode: 401,
        deliveryId: webhook.deliveryId,
        event: 'issues',
      }),
    ]);
    expect(lines[0]).not.toContain(webhook.headers['x-hub-signature-256']);
  });

  it('an accepted webhook logs its outcome, not the request with its headers', async () => {
    const webhook = signedWebhook(SECRET, 'ping', examplePayload('ping'));
    expect((await post(webhook)).statusCode).toBe(202);
    const lines = t.logs.filter((line) => line.includes(webhook.deliveryId));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"msg":"GitHub delivery"');
  });

  it('a signature over other bytes (body altered after signing) -> 401', async () => {
    const webhook = signedWebhook(SECRET, 'issues', examplePayload('issues', 'opened'));
    const res = await post({ ...webhook, body: webhook.body.replace('"opened"', '"closed"') });
    expect(res.statusCode).toBe(401);
    expect(await deliveryRow(webhook.deliveryId)).toBeUndefined();
  });

  it.each(['x-github-event', 'x-github-delivery', 'x-hub-signature-256'])(
    'missing %s -> 400 naming it, nothing stored',
    async (header) => {
      const webhook = signedWebhook(SECRET, 'issues', examplePayload('issues', 'opened'));
      delete webhook.headers[header];
      const res = await post(webhook);
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(new RegExp(header, 'i'));
      expect(await deliveryRow(webhook.deliveryId)).toBeUndefined();
    },
  );

  it('malformed JSON with a valid signature -> 400', async () => {
    const body = '{"action": ';
    const deliveryId = randomUUID();
    const res = await post({
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': signBody(SECRET, body),
      },
    });
    expect(res.statusCode).toBe(400);
    expect(await deliveryRow(deliveryId)).toBeUndefined();
  });

  it.each(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', undefined])(
    'a correctly signed body sent as %s -> 415 naming the types GitHub sends, nothing stored',
    async (contentType) => {
      const webhook = signedWebhook(SECRET, 'issues', examplePayload('issues', 'opened'));
      const headers: Record<string, string> = { ...webhook.headers };
      if (contentType) headers['content-type'] = contentType;
      else delete headers['content-type'];
      const res = await post({ ...webhook, headers });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toEqual({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: expect.stringContaining('application/json or application/x-www-form-urlencoded'),
      });
      expect(await deliveryRow(webhook.deliveryId)).toBeUndefined();
    },
  );

  it('a form-encoded delivery (content type application/x-www-form-urlencoded) is accepted', async () => {
    const repo = uniqueRepo();
    await subscriptions.add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
    const body = new URLSearchParams({
      payload: JSON.stringify(inRepo(examplePayload('issues', 'opened'), repo)),
    }).toString();
    const deliveryId = randomUUID();
    const res = await post({
      body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'issues',
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': signBody(SECRET, body),
      },
    });
    expect(res.statusCode).toBe(202);
    expect((await outcomeOf(db, deliveryId)).outcome).toBe('published');
    expect(await messagesOf(repo)).toHaveLength(1);
  });

  it('ping is answered and recorded', async () => {
    const webhook = signedWebhook(SECRET, 'ping', examplePayload('ping'));
    expect((await deliver(webhook)).outcome).toBe('ping');
  });

  it('events we do not handle are answered 2xx and counted as unhandled', async () => {
    const webhook = signedWebhook(SECRET, 'star', {
      action: 'created',
      repository: { full_name: uniqueRepo() },
      sender: { login: 'octocat' },
    });
    expect((await deliver(webhook)).outcome).toBe('unhandled');
  });

  it('owner/* subscriptions and filters decide which flows get a message', async () => {
    const owner = `org${randomBytes(4).toString('hex')}`;
    const repo = uniqueRepo(owner);
    const all = await subscriptions.add({
      repositoryPattern: `${owner}/*`,
      flowToken: `flow-${randomUUID()}`,
    });
    const onlyIssues = await subscriptions.add({
      repositoryPattern: repo,
      flowToken: `flow-${randomUUID()}`,
      eventKinds: ['issues'],
    });
    const noBots = await subscriptions.add({
      repositoryPattern: `${owner}/*`,
      flowToken: `flow-${randomUUID()}`,
      ignoreBots: true,
    });
    const labelled = await subscriptions.add({
      repositoryPattern: repo,
      flowToken: `flow-${randomUUID()}`,
      requiredLabels: ['bug'],
    });

    const pr = inRepo(examplePayload('pull_request', 'opened'), repo);
    pr.sender.login = 'dependabot[bot]';
    pr.sender.type = 'Bot';
    expect(await deliver(signedWebhook(SECRET, 'pull_request', pr))).toEqual({
      outcome: 'published',
      reason: null,
      messages: 1,
    });
    const labeled = inRepo(examplePayload('issues', 'labeled'), repo); // carries the label "bug"
    expect(await deliver(signedWebhook(SECRET, 'issues', labeled))).toEqual({
      outcome: 'published',
      reason: null,
      messages: 4,
    });

    const rows = await messagesOf(repo);
    expect(rows.filter((r) => r.kind === 'pull').map((r) => r.source_id)).toEqual([all.sourceId]);
    expect(
      rows
        .filter((r) => r.kind === 'issue')
        .map((r) => r.source_id)
        .sort(),
    ).toEqual([all.sourceId, onlyIssues.sourceId, noBots.sourceId, labelled.sourceId].sort());
  });

  it('the default flow takes repositories without a subscription', async () => {
    const own = await freshDatabase(process.env.E2E_DATABASE_URL!);
    const other = await startTestApp(
      testEnvironment({
        GITHUB_WEBHOOK_SECRET: SECRET,
        FLOWDOCK_FLOW_TOKEN: 'default-flow-token',
        DATABASE_URL: own.url,
      }),
    );
    try {
      const repo = uniqueRepo();
      const webhook = signedWebhook(
        SECRET,
        'issues',
        inRepo(examplePayload('issues', 'opened'), repo),
      );
      const res = await postWebhook(other.app, webhook);
      expect(res.statusCode).toBe(202);
      const otherDb = other.app.get(DataSource);
      expect(await outcomeOf(otherDb, webhook.deliveryId)).toMatchObject({
        outcome: 'published',
        messages: 1,
      });
      const [message] = await otherDb.query<{ source_id: string; title: string }[]>(
        `SELECT t.source_id, m.event->>'title' AS title
         FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
         WHERE t.external_thread_id LIKE 'github:' || $1 || ':%'`,
        [repo],
      );
      expect(message).toEqual({
        source_id: await other.app.get(FlowdockSourceService).defaultSourceId(),
        title: 'opened issue',
      });
    } finally {
      await other.app.close();
      await own.drop();
    }
  });

  it('out of order: a late older delivery is still announced but does not move the thread back', async () => {
    const repo = uniqueRepo();
    await subscriptions.add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
    const closed = inRepo(examplePayload('pull_request', 'closed'), repo);
    closed.pull_request.updated_at = '2030-01-01T10:00:05Z';
    const opened = inRepo(examplePayload('pull_request', 'opened'), repo);
    opened.pull_request.updated_at = '2030-01-01T10:00:00Z';
    await deliver(signedWebhook(SECRET, 'pull_request', closed));
    await deliver(signedWebhook(SECRET, 'pull_request', opened));
    expect((await threadOf(repo, 'pull', 2)).state).toBe('closed');
    expect((await messagesOf(repo)).map((m) => m.title)).toEqual([
      'closed pull request',
      'opened pull request',
    ]);
  });

  it('CI: a status for the head commit sets the thread field and announces the change once', async () => {
    const repo = uniqueRepo();
    await subscriptions.add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
    const opened = inRepo(examplePayload('pull_request', 'opened'), repo);
    await deliver(signedWebhook(SECRET, 'pull_request', opened));
    const status = inRepo(examplePayload('status'), repo);
    Object.assign(status, {
      sha: opened.pull_request.head.sha,
      state: 'failure',
      updated_at: '2030-01-01T00:00:00Z',
    });
    expect(await deliver(signedWebhook(SECRET, 'status', status))).toMatchObject({
      outcome: 'published',
      messages: 1,
    });
    Object.assign(status, { updated_at: '2030-01-01T00:01:00Z', description: 'still failing' });
    expect(await deliver(signedWebhook(SECRET, 'status', status))).toMatchObject({
      outcome: 'state-only',
      messages: 0,
    });
    expect((await threadOf(repo, 'pull', 2)).ci).toMatchObject({ state: 'failure' });
    expect((await messagesOf(repo)).map((m) => m.title)).toEqual([
      'opened pull request',
      'CI failed',
    ]);
  });

  it('concurrent deliveries for one new thread all land, and merge into one row', async () => {
    const repo = uniqueRepo();
    await subscriptions.add({ repositoryPattern: repo, flowToken: `flow-${randomUUID()}` });
    const labeled = inRepo(examplePayload('issues', 'labeled'), repo);
    const assigned = inRepo(examplePayload('issues', 'assigned'), repo);
    assigned.issue.number = labeled.issue.number;
    const results = await Promise.all(
      [
        signedWebhook(SECRET, 'issues', labeled),
        signedWebhook(SECRET, 'issues', assigned),
        signedWebhook(SECRET, 'issues', inRepo(examplePayload('issues', 'opened'), repo)),
      ].map(deliver),
    );
    expect(results.map((r) => r.outcome)).toEqual(['published', 'published', 'published']);
    const count = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM github_thread WHERE repository = $1`,
      [repo],
    );
    expect(count[0].n).toBe(1);
    expect(await messagesOf(repo)).toHaveLength(3);
  });
});
