import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { SimSource } from '../sandbox/flowdock/flowdock-state';
import { safeReturnPath } from '../src/delivery-log/deliveries-sign-in';
import { FlowdockDeliveryWorker } from '../src/delivery/flowdock-delivery.worker';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { NewSubscription, SubscriptionService } from '../src/subscriptions/subscription.service';
import { TestBrowser } from './support/auth-browser';
import { AuthWorld, PUBLIC_URL, useAuthWorld } from './support/auth-world';
import { outcomeOf } from './support/webhook-deliveries';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { inRepo, postWebhook, uniqueRepo } from './support/webhook-requests';

const WEBHOOK_SECRET = `dlog-webhook-${randomBytes(16).toString('hex')}`;
/** A Flowdock user added to the simulator after start, listed in ADMIN_FLOWDOCK_USERS. */
const ADMIN = {
  id: randomInt(900_000_001, 2_000_000_000),
  nick: 'dana',
  name: 'Dana Admin',
  email: 'dana@example.test',
};

/**
 * The delivery log pages, signed in through the Flowdock simulator: alice is
 * a member of the flow "team" the repository posts to, carol of the flow
 * "other" it also posts to, bob of neither; dana is an admin.
 */
describe('delivery log pages (GET /deliveries)', () => {
  let w: AuthWorld;
  let db: DataSource;
  useAuthWorld((world) => (w = world), {
    env: { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, ADMIN_FLOWDOCK_USERS: ` ${ADMIN.id} , 1` },
  });

  const org = `dlog${randomBytes(3).toString('hex')}`;
  const repository = uniqueRepo();
  /** Posts through a source made from a bare flow token: the bridge does not know its flow. */
  const bareRepository = uniqueRepo();
  const NUMBER = 7;
  let team: SimSource;
  let other: SimSource;
  let bare: SimSource;
  let clock = Date.parse('2026-05-01T10:00:00Z');

  /** A Flowdock flow of the simulator with these members, a source in it, registered with its flow. */
  async function flowWithSource(name: string, members: number[]): Promise<SimSource> {
    const flow = w.flowdock.state.addFlow({
      id: `f-${org}-${name}`,
      organization: org,
      flow: name,
      name: `The ${name} flow`,
      members,
    });
    const source = w.flowdock.state.addSource(flow.id, 'GitHub');
    await w.t.app.get(FlowdockSourceService).register({
      flowToken: source.flowToken,
      flow: `${org}/${name}`,
      name: `${name} source`,
    });
    return source;
  }

  const subscribe = (pattern: string, source: SimSource, rules: Partial<NewSubscription> = {}) =>
    w.t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: pattern, flowToken: source.flowToken, ...rules });

  async function pullRequest(repo: string, action: string, labels: string[], label?: string) {
    const payload = inRepo(examplePayload('pull_request', 'opened'), repo);
    const pr = payload.pull_request as unknown as Record<string, unknown>;
    Object.assign(payload, { action });
    pr.number = payload.number = NUMBER;
    pr.draft = false;
    pr.labels = labels.map((name, id) => ({ id, name, color: 'ededed', default: false }));
    pr.updated_at = new Date((clock += 60_000)).toISOString();
    if (label) Object.assign(payload, { label: { id: 99, name: label, color: 'ededed' } });
    const webhook = signedWebhook(WEBHOOK_SECRET, 'pull_request', payload);
    expect((await postWebhook(w.t.app, webhook)).statusCode).toBe(202);
    return { deliveryId: webhook.deliveryId, ...(await outcomeOf(db, webhook.deliveryId)) };
  }

  const sourceIdOf = async (source: SimSource) =>
    (await w.t.app.get(FlowdockSourceService).register({ flowToken: source.flowToken })).id;

  let dropped: { deliveryId: string };
  let published: { deliveryId: string };

  beforeAll(async () => {
    db = w.t.app.get(DataSource);
    w.flowdock.state.users.set(ADMIN.id, ADMIN);
    team = await flowWithSource('team', [w.fdUsers.alice.id, ADMIN.id]);
    other = await flowWithSource('other', [w.fdUsers.carol.id]);
    bare = w.flowdock.state.addSource(team.flowId, 'bare');
    await subscribe(repository, team, { excludeLabels: ['wip'] });
    await subscribe(repository, other, { excludeLabels: ['wip'] });
    await subscribe(bareRepository, bare);

    // Opened as work in progress: dropped by the label rule; the label removed: published.
    dropped = await pullRequest(repository, 'opened', ['wip']);
    expect(dropped).toMatchObject({ outcome: 'dropped', reason: 'label filter' });
    published = await pullRequest(repository, 'unlabeled', [], 'wip');
    expect(published).toMatchObject({ outcome: 'published', messages: 2 });
    await pullRequest(bareRepository, 'opened', []);

    // The "other" flow's source is removed in Flowdock: its message goes dead.
    w.flowdock.state.removeSource(other.id);
    const worker = w.t.app.get(FlowdockDeliveryWorker);
    await worker.runOnce({ sourceIds: [await sourceIdOf(team), await sourceIdOf(other)] });
  });

  /** Opens `path` signed out: the redirect to Flowdock, the consent, the callback, back to `path`. */
  async function signIn(browser: TestBrowser, as: number, path: string) {
    const start = await browser.get(`${PUBLIC_URL}${path}`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.location!);
    expect(authorize.origin + authorize.pathname).toBe(`${w.flowdock.url}/oauth/authorize`);
    expect(authorize.searchParams.get('scope')).toBe('profile flow');
    const consent = await browser.get(start.location!);
    const back = await browser.submitConsent(consent, { user_id: String(as), decision: 'approve' });
    const callback = await browser.get(back.location!);
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${PUBLIC_URL}${path}`);
    const cookie = String(callback.headers['set-cookie']);
    expect(cookie).toMatch(/bridge_deliveries=[^;]+;/);
    expect(cookie).toContain('Path=/deliveries');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toMatch(/Max-Age=900\b/);
    return browser.get(callback.location!);
  }

  const itemUrl = () => `/deliveries/${repository}/${NUMBER}`;

  /** Nothing secret may appear on a page: flow tokens, their hashes, client and webhook secrets, access tokens. */
  async function expectNoSecrets(html: string) {
    const hashes: { flow_token_hash: string; flow_token_encrypted: string }[] = await db.query(
      `SELECT flow_token_hash, flow_token_encrypted FROM flowdock_source`,
    );
    const secrets = [
      team.flowToken,
      other.flowToken,
      bare.flowToken,
      ...hashes.flatMap((h) => [h.flow_token_hash, h.flow_token_encrypted]),
      w.env.FLOWDOCK_CLIENT_SECRET,
      w.env.GITHUB_CLIENT_SECRET,
      w.env.COOKIE_SECRET,
      w.env.TOKEN_ENCRYPTION_KEY,
      WEBHOOK_SECRET,
      ...w.flowdock.state.accessTokens.keys(),
      ...w.flowdock.state.refreshTokens.keys(),
    ];
    expect(secrets.filter((secret) => html.includes(secret))).toEqual([]);
  }

  it('a member of a flow the repository posts to sees the deliveries, the rule that dropped one, and the sends of their flow', async () => {
    const page = await signIn(w.browser(), w.fdUsers.alice.id, itemUrl());
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('Signed in with Flowdock as Alice (@alice)');
    expect(page.body).toContain(`/${repository}/pull/${NUMBER}">the pull request</a>`);
    expect(page.body).not.toContain(`/${repository}/issues/${NUMBER}`);

    const deliveries = tableOf(page.body, 'deliveries');
    // Newest first: the publishing unlabel, then the dropped opening.
    expect(deliveries.indexOf(published.deliveryId)).toBeGreaterThan(-1);
    expect(deliveries.indexOf(published.deliveryId)).toBeLessThan(
      deliveries.indexOf(dropped.deliveryId),
    );
    expect(deliveries).toContain('pull_request.opened');
    expect(deliveries).toContain('dropped</span> — rule: label filter');
    expect(deliveries).toContain('published</span> — note: late match: label wip removed');
    expect(deliveries).toContain('@Codertocat');

    const sends = tableOf(page.body, 'sends');
    expect(sends).toContain(`${org}/team`);
    expect(sends).toContain('status-sent');
    expect(sends).toContain(`github:${repository}:pull:${NUMBER}`);
    // The other flow's message is not hers to see.
    expect(sends).not.toContain(`${org}/other`);
    expect(page.body).toContain('1 message(s) to flows you are not a member of are not shown');
    await expectNoSecrets(page.body);
  });

  it('an admin (ADMIN_FLOWDOCK_USERS) sees every flow: the dead message, its error and the disabled source', async () => {
    const page = await signIn(w.browser(), ADMIN.id, itemUrl());
    expect(page.status).toBe(200);
    const sends = tableOf(page.body, 'sends');
    expect(sends).toContain(`${org}/team`);
    expect(sends).toContain(`${org}/other`);
    expect(sends).toContain('status-dead');
    expect(sends).toContain('410 Gone');
    expect(sends).toContain('disabled</span> since');
    expect(page.body).toContain('deliveries redrive --id');
    expect(page.body).not.toContain('are not shown');
    await expectNoSecrets(page.body);
  });

  it('an outsider gets 403 saying who they are and what gives access; a bare flow token is admins only', async () => {
    const page = await signIn(w.browser(), w.fdUsers.bob.id, itemUrl());
    expect(page.status).toBe(403);
    expect(page.body).toContain(`Flowdock user ${w.fdUsers.bob.id}`);
    expect(page.body).toContain('@bob');
    expect(page.body).toContain('membership of a flow the repository posts to');
    expect(page.body).toContain('ADMIN_FLOWDOCK_USERS');
    expect(page.body).not.toContain(dropped.deliveryId);
    await expectNoSecrets(page.body);

    const browser = w.browser();
    const bareAsAlice = await signIn(
      browser,
      w.fdUsers.alice.id,
      `/deliveries/${bareRepository}/${NUMBER}`,
    );
    expect(bareAsAlice.status).toBe(403);
    expect(bareAsAlice.body).toContain('bare flow token');
    const bareAsAdmin = await signIn(
      w.browser(),
      ADMIN.id,
      `/deliveries/${bareRepository}/${NUMBER}`,
    );
    expect(bareAsAdmin.status).toBe(200);
    expect(tableOf(bareAsAdmin.body, 'routes')).toContain('flow unknown');
  });

  it('signed out: sign in, and back to the same page (also for ?repo=)', async () => {
    const path = `/deliveries?repo=${repository}`;
    const browser = w.browser();
    const page = await signIn(browser, w.fdUsers.carol.id, path);
    expect(page.status).toBe(200);
    // The session serves the other pages without signing in again.
    const item = await browser.get(`${PUBLIC_URL}${itemUrl()}`);
    expect(item.status).toBe(200);
    expect(tableOf(item.body, 'sends')).toContain(`${org}/other`);
  });

  it("?repo= lists the repository's deliveries with counts per outcome", async () => {
    const page = await signIn(w.browser(), w.fdUsers.alice.id, `/deliveries?repo=${repository}`);
    expect(page.status).toBe(200);
    const counts = tableOf(page.body, 'counts');
    expect(counts).toContain('<span data-outcome="dropped">1</span>');
    expect(counts).toContain('<span data-outcome="published">1</span>');
    const deliveries = tableOf(page.body, 'deliveries');
    expect(deliveries).toContain(dropped.deliveryId);
    expect(deliveries).toContain(`href="/deliveries/${repository}/${NUMBER}"`);
    await expectNoSecrets(page.body);
  });

  it.each([
    ['/deliveries/-bad/repo/1', 'owner'],
    ['/deliveries/acme/wid!gets/1', 'repo'],
    ['/deliveries/acme/widgets/0x10', 'number'],
    ['/deliveries/acme/widgets/01', 'number'],
    // More than a PostgreSQL integer holds: refused here, never a failed query.
    ['/deliveries/acme/widgets/3000000000', 'number'],
    ['/deliveries/acme/wid%20gets/1', 'repo'],
    ['/deliveries/%2F%2Fevil.example/widgets/1', 'owner'],
    ['/deliveries?repo=acme', 'repo must be'],
    ['/deliveries?repo=https://evil.example/x', 'repo must be'],
    ['/deliveries', 'missing'],
  ])('%s is refused with a 400 page, before any sign-in', async (path, problem) => {
    const page = await w.browser().get(`${PUBLIC_URL}${path}`);
    expect(page.status).toBe(400);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('This is not a delivery log address');
    expect(page.body).toContain(problem);
    expect(page.location).toBeUndefined();
  });

  it('the return path cannot be an open redirect, even with a tampered sign-in step', async () => {
    for (const path of [
      'https://evil.example/',
      '//evil.example/deliveries',
      '/deliveries/../account',
      '/deliveries\\@evil.example',
      '/deliveriesx',
      '/deliveries?repo=a/b/c',
      '/deliveries?repo=a/b&x=https://evil.example',
      undefined,
    ]) {
      expect(safeReturnPath(path)).toBe('/deliveries');
    }
    expect(safeReturnPath('/deliveries/acme/widgets/7')).toBe('/deliveries/acme/widgets/7');
    expect(safeReturnPath('/deliveries?repo=acme%2Fwidgets')).toBe(
      '/deliveries?repo=acme%2Fwidgets',
    );
    expect(safeReturnPath('/deliveries?repo=acme/widgets')).toBe('/deliveries?repo=acme/widgets');

    const browser = w.browser();
    const start = await browser.get(`${PUBLIC_URL}${itemUrl()}`);
    const state = new URL(start.location!).searchParams.get('state')!;
    // Someone with the database's ear rewrites the page to return to.
    await db.query(
      `UPDATE oauth_state SET context = '{"returnTo": "https://evil.example/"}'
       WHERE purpose = 'deliveries' AND state_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
      [state],
    );
    const consent = await browser.get(start.location!);
    const back = await browser.submitConsent(consent, {
      user_id: String(w.fdUsers.alice.id),
      decision: 'approve',
    });
    const callback = await browser.get(back.location!);
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${PUBLIC_URL}/deliveries`);
  });

  it('a deliveries session does not open the account page, nor an account session the log', async () => {
    const browser = w.browser();
    await signIn(browser, w.fdUsers.alice.id, itemUrl());
    const token = browser.cookies.get('bridge_deliveries')!.value;
    browser.cookies.set('bridge_account', { value: token, path: '/account' });
    const account = await browser.get(`${PUBLIC_URL}/account`);
    expect(account.status).toBe(302);
    expect(new URL(account.location!).searchParams.get('scope')).toBe('profile');

    // An account session, presented as a deliveries session.
    const other = w.browser();
    const start = await other.get(`${PUBLIC_URL}/account`);
    const consent = await other.get(start.location!);
    const back = await other.submitConsent(consent, {
      user_id: String(ADMIN.id),
      decision: 'approve',
    });
    await other.get(back.location!);
    const accountToken = other.cookies.get('bridge_account')!.value;
    other.cookies.set('bridge_deliveries', { value: accountToken, path: '/deliveries' });
    const refused = await other.get(`${PUBLIC_URL}${itemUrl()}`);
    expect(refused.status).toBe(302);
    expect(refused.location).toContain('/oauth/authorize');
  });

  it('declining on Flowdock ends on a page saying so, without a session', async () => {
    const browser = w.browser();
    const start = await browser.get(`${PUBLIC_URL}${itemUrl()}`);
    const consent = await browser.get(start.location!);
    const back = await browser.submitConsent(consent, {
      user_id: String(w.fdUsers.alice.id),
      decision: 'deny',
    });
    const page = await browser.get(back.location!);
    expect(page.status).toBe(403);
    expect(page.body).toContain('so you are not signed in');
    expect(browser.cookies.has('bridge_deliveries')).toBe(false);
  });

  it('a forged session cookie is a sign-in, not a page', async () => {
    const browser = w.browser();
    browser.cookies.set('bridge_deliveries', { value: `x.${randomUUID()}.y`, path: '/deliveries' });
    const page = await browser.get(`${PUBLIC_URL}${itemUrl()}`);
    expect(page.status).toBe(302);
    expect(page.location).toContain('/oauth/authorize');
  });
});

/** The HTML of the element with this id (a table, or the note that replaces an empty one). */
function tableOf(html: string, id: string): string {
  const match = new RegExp(`<(table|p) id="${id}"[\\s\\S]*?</\\1>`).exec(html);
  if (!match) throw new Error(`No #${id} on the page:\n${html}`);
  return match[0];
}

describe('delivery log pages without a Flowdock application', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(testEnvironment());
  });
  afterAll(() => t?.app.close());

  it('answer 503 naming what to set, instead of a sign-in that cannot work', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/deliveries/acme/widgets/1' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('Flowdock sign-in is not set up');
    expect(res.body).toContain('FLOWDOCK_CLIENT_ID and FLOWDOCK_CLIENT_SECRET');
    expect(res.headers.location).toBeUndefined();
  });
});
