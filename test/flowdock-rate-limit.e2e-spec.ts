import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { FlowTokenRateLimit } from '../sandbox/flowdock/flowdock-rate-limit';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { FlowdockDeliveryService } from '../src/delivery/flowdock-delivery.service';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { startTestApp, TestApp, testEnvironment } from './support/test-app';

const CLIENT_ID = 'client-rate-limit-spec';
const CLIENT_SECRET = 'secret-rate-limit-spec-0123456789abcdef0123';
const RUN = `${process.pid}-${Date.now()}`;

let sim: FlowdockSimulator;
beforeAll(async () => {
  sim = await FlowdockSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterAll(() => sim.stop());
afterEach(() => (sim.state.rateLimit = undefined));

async function post(flowToken: string): Promise<Response> {
  return fetch(`${sim.url}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      flow_token: flowToken,
      event: 'activity',
      author: { name: 'octocat' },
      title: 'updated',
      external_thread_id: 'rate-limit',
      thread: { title: 'A thread' },
    }),
  });
}

describe('the Flowdock simulator’s rate limiter', () => {
  it('answers 429 with Retry-After over the limit of a flow token, and counts posts that did not wait', async () => {
    const limited = sim.state.addSource();
    const other = sim.state.addSource();
    const limit = (sim.state.rateLimit = new FlowTokenRateLimit(3));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(limited.flowToken)).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    const refused = await post(limited.flowToken);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ message: 'Rate limit exceeded' });
    // Another token has its own window.
    expect((await post(other.flowToken)).status).toBe(202);
    expect(limit).toMatchObject({ limited: 3, waits: 1, ignoredRetryAfter: 0 });
    // A post inside the wait, after the grace for posts on their way, ignored it.
    limit.admit(limited.flowToken, Date.now() + 400);
    expect(limit.ignoredRetryAfter).toBe(1);
    // After Retry-After the token posts again.
    await sleep(1050);
    expect((await post(limited.flowToken)).status).toBe(202);
  });
});

describe('delivery under a rate-limited flow token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      testEnvironment({
        FLOWDOCK_API_URL: sim.url,
        FLOWDOCK_CLIENT_ID: CLIENT_ID,
        FLOWDOCK_CLIENT_SECRET: CLIENT_SECRET,
        FLOWDOCK_TIMEOUT_MS: '2000',
        // The worker runs as in production (woken by enqueues), not pass by pass.
        FLOWDOCK_DELIVERY_POLL_MS: '200',
      }),
    );
  });
  afterAll(() => t.app.close());

  it('waits out every 429 (refused only what was on its way) and delivers each message once, in order', async () => {
    const simSource = sim.state.addSource();
    const source = await t.app
      .get(FlowdockSourceService)
      .register({ flowToken: simSource.flowToken, name: 'rate limited' });
    // Low enough that even a bridge slowed by a busy machine outposts it.
    const limit = (sim.state.rateLimit = new FlowTokenRateLimit(12));
    const delivery = t.app.get(FlowdockDeliveryService);
    const db = t.app.get(DataSource);
    const threads = 8;
    const steps = 10;
    for (let step = 0; step < steps; step++) {
      await db.transaction(async (manager) => {
        for (let n = 1; n <= threads; n++) {
          await delivery.publish(manager, {
            sourceId: source.id,
            event: 'activity',
            author: { name: 'octocat' },
            title: `step ${step}`,
            snapshot: {
              repository: `acme/limited-${RUN}`,
              kind: 'issue',
              number: n,
              title: 'Limited',
              body: null,
              url: `https://github.com/acme/limited-${RUN}/issues/${n}`,
              state: 'open',
              author: 'octocat',
              assignees: [],
              reviewers: [],
              labels: [`step ${step}`],
            },
          });
        }
      });
    }
    const deadline = Date.now() + 25_000;
    while ((await delivery.counts(source.id)).pending > 0 && Date.now() < deadline) {
      await sleep(100);
    }
    const received = sim.state.messages.filter((m) => m.sourceId === simSource.id);
    expect(received).toHaveLength(threads * steps);
    expect(new Set(received.map((m) => m.body.uuid)).size).toBe(threads * steps);
    for (let n = 1; n <= threads; n++) {
      const key = `github:acme/limited-${RUN}:issue:${n}`;
      const titles = received
        .filter((m) => m.body.external_thread_id === key)
        .map((m) => m.body.title);
      expect(titles).toEqual(Array.from({ length: steps }, (_, step) => `step ${step}`));
    }
    // The limit was reached (80 messages at 12 a second), and the bridge waited each
    // time: a wait refuses only the posts already on their way, at most one per thread
    // (a client that kept posting would be refused hundreds of times a second).
    expect(limit.waits).toBeGreaterThan(0);
    expect(limit.limited).toBeLessThanOrEqual(limit.waits * threads);
    expect(await delivery.counts(source.id)).toMatchObject({ pending: 0, dead: 0 });
  });
});
