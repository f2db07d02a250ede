import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { FlowdockDeliveryWorker } from '../src/delivery/flowdock-delivery.worker';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { Page, TestBrowser } from './support/auth-browser';
import { AuthWorld, deadUrl, PUBLIC_URL, startAuthWorld } from './support/auth-world';
import { outcomeOf } from './support/webhook-deliveries';

const WEBHOOK_SECRET = 'setup-webhook-secret-0123456789abcdef';
const MAIN_FLOW = 'f10000000000000000000001';

const unescapeHtml = (text: string) =>
  text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
const owner = () => `setup${randomBytes(4).toString('hex')}`;

interface SetupForm {
  page: Page;
  action: string;
  token: string;
}

function formOf(page: Page): SetupForm {
  const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
  const token = /<input type="hidden" name="token" value="([^"]*)">/.exec(page.body)?.[1];
  if (!action || !token)
    throw new Error(`No setup form (${page.status}): ${page.body.slice(0, 300)}`);
  return { page, action: `${PUBLIC_URL}${unescapeHtml(action)}`, token: unescapeHtml(token) };
}

/**
 * The integration's Setup URI over HTTP with a cookie jar: Flowdock consent in
 * the simulator, the repositories form, sources created in the simulator and
 * subscriptions stored in the real database.
 */
describe('Flowdock setup flow (GET /flowdock/setup)', () => {
  let world: AuthWorld;
  let db: DataSource;

  beforeAll(async () => {
    world = await startAuthWorld({ env: { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    db = world.t.app.get(DataSource);
  });
  afterAll(async () => {
    await world?.stop();
  });

  /** Setup URI -> Flowdock consent as `user` -> back at the bridge. */
  async function consent(browser: TestBrowser, flowId: string, decision = 'approve') {
    const start = await browser.get(`${PUBLIC_URL}/flowdock/setup?flow=${flowId}`);
    expect(start.status).toBe(302);
    const page = await browser.get(start.location!);
    const back = await browser.submitConsent(page, {
      user_id: String(world.fdUsers.alice.id),
      decision,
    });
    return { start, callback: back.location!, page: await browser.get(back.location!) };
  }

  async function openForm(browser: TestBrowser, flowId = MAIN_FLOW): Promise<SetupForm> {
    const { page } = await consent(browser, flowId);
    expect(page.status).toBe(200);
    return formOf(page);
  }

  const submit = (browser: TestBrowser, form: SetupForm, fields: Record<string, string>) =>
    browser.post(form.action, { token: form.token, ...fields });

  const subscriptionsFor = (pattern: string) =>
    db.query<Record<string, unknown>[]>(
      `SELECT s.*, f.flow, f.name AS source_name, f.flow_token_encrypted, f.flow_token_hash
       FROM github_subscription s JOIN flowdock_source f ON f.id = s.source_id
       WHERE s.repository_pattern = $1`,
      [pattern],
    );

  it('asks Flowdock for consent with a callback under PUBLIC_URL and the integration scope', async () => {
    const browser = world.browser();
    const start = await browser.get(`${PUBLIC_URL}/flowdock/setup?flow=${MAIN_FLOW}`);
    expect(start.status).toBe(302);
    const url = new URL(start.location!);
    expect(url.origin + url.pathname).toBe(`${world.flowdock.url}/oauth/authorize`);
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/flowdock/setup/callback`);
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(
      // offline_access: a refresh token keeps the flow's stream readable (replies in threads).
      expect.arrayContaining(['flow', 'integration', 'offline_access']),
    );
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{40,}$/);
    expect(String(start.headers['set-cookie'])).toContain('HttpOnly');
  });

  it('connects repositories: one source each in the flow, encrypted tokens, subscriptions with filters, webhooks reach that flow', async () => {
    const browser = world.browser();
    const form = await openForm(browser);
    expect(form.page.body).toContain('Connect GitHub repositories to Main');
    expect(form.page.body).toContain('acme/main');
    // The form's CSRF token is a one-use state bound to this browser's cookie.
    expect(form.action).toMatch(/\/flowdock\/setup\/connect\?state=[\w-]{40,}$/);

    const org = owner();
    const sourcesBefore = world.flowdock.state.sources.size;
    const cookiesBefore = new Map(browser.cookies);
    const done = await submit(browser, form, {
      repositories: `${org}/App\n\n  ${org}/app  \n${org}-tools/*\n`,
      events: 'pull_request, issues.opened',
      labels: 'ops, needs review',
      ignoreBots: 'on',
    });
    expect(done.status).toBe(201);
    expect(done.body).toContain('Connected to Main');
    expect(done.body).toContain(`<code>${org}/app</code>`);
    expect(done.body).toContain(`<code>${org}-tools/*</code>`);

    // Duplicates (case, blanks) collapse: two sources, named after the repository.
    const created = [...world.flowdock.state.sources.values()].slice(sourcesBefore);
    expect(created.map((s) => [s.flowId, s.name, s.externalUrl])).toEqual([
      [MAIN_FLOW, `${org}/app`, `${world.env.GITHUB_URL}/${org}/app`],
      [MAIN_FLOW, `${org}-tools/*`, `${world.env.GITHUB_URL}/${org}-tools`],
    ]);

    const [sub] = await subscriptionsFor(`${org}/app`);
    expect(sub).toMatchObject({
      flow: 'acme/main',
      source_name: `${org}/app`,
      event_kinds: ['pull_request', 'issues.opened'],
      ignore_bots: true,
      required_labels: ['ops', 'needs review'],
    });
    expect(await subscriptionsFor(`${org}-tools/*`)).toHaveLength(1);
    // Flow tokens and the person's grant (the sources' stream token) are stored encrypted only.
    const stored = JSON.stringify(
      await db.query(
        `SELECT row_to_json(f)::text AS row FROM flowdock_source f WHERE f.name LIKE $1
         UNION ALL SELECT row_to_json(s)::text FROM github_subscription s WHERE s.repository_pattern LIKE $1`,
        [`${org}%`],
      ),
    );
    for (const source of created) expect(stored).not.toContain(source.flowToken);
    expect(String(sub.flow_token_encrypted)).not.toBe('');
    await world.expectNoLeaks();
    const accessTokens = [...world.flowdock.state.accessTokens.keys()];
    expect(accessTokens.length).toBeGreaterThan(0);
    expect(accessTokens.filter((token) => stored.includes(token))).toEqual([]);
    const refreshTokens = [...world.flowdock.state.refreshTokens.keys()];
    expect(refreshTokens.filter((token) => stored.includes(token))).toEqual([]);
    // The grant reads the flow's stream: both sources carry it, with its refresh token.
    const sources = world.t.app.get(FlowdockSourceService);
    for (const one of await sources.list()) {
      if (!one.name?.startsWith(org)) continue;
      expect(one).toMatchObject({ flow: 'acme/main', stream: { state: 'token' } });
      const grant = await sources.streamGrant(one.id);
      expect(world.flowdock.state.accessTokens.get(grant!.accessToken)?.scope).toContain(
        'offline_access',
      );
      expect(grant!.refreshToken).toMatch(/\S/);
      expect(grant!.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    }
    expect(
      (await sources.list()).filter(
        (one) => one.name?.startsWith(org) && one.stream.state === 'token',
      ),
    ).toHaveLength(2);

    // End to end: a webhook for the repository ends in that flow, through its own source.
    const opened = examplePayload('pull_request', 'opened');
    opened.repository.full_name = `${org}/app`;
    // Both required labels, as the subscription asks.
    opened.pull_request.labels = ['ops', 'Needs review'].map((name, i) => ({
      ...opened.pull_request.labels[0],
      id: i + 1,
      name,
    }));
    const signed = signedWebhook(WEBHOOK_SECRET, 'pull_request', opened);
    const ack = await world.t.app.inject({
      method: 'POST',
      url: '/github/webhooks',
      headers: signed.headers,
      payload: signed.body,
    });
    expect(ack.statusCode).toBe(202);
    await outcomeOf(world.t.app.get(DataSource), signed.deliveryId);
    await world.t.app.get(FlowdockDeliveryWorker).runOnce({ sourceIds: [String(sub.source_id)] });
    const appSource = created[0];
    const thread = world.flowdock.state.thread(appSource.id, `github:${org}/app:pull:2`);
    expect(thread).toBeDefined();
    expect(world.flowdock.state.sources.get(appSource.id)?.flowId).toBe(MAIN_FLOW);
    expect(
      world.flowdock.state.messages.filter((m) => m.sourceId === appSource.id).map((m) => m.body),
    ).toEqual([expect.objectContaining({ event: 'activity', title: 'opened pull request' })]);

    // The form works once: replaying it, even with the cookie kept, connects nothing more.
    for (const [name, cookie] of cookiesBefore) browser.cookies.set(name, cookie);
    const replay = await submit(browser, form, { repositories: `${org}/other` });
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('This setup step is over');
    expect(await subscriptionsFor(`${org}/other`)).toHaveLength(0);
  });

  it('shows invalid repositories and filters on the form again (escaped), storing nothing; the new form then works', async () => {
    const browser = world.browser();
    const form = await openForm(browser);
    const org = owner();
    const sourcesBefore = world.flowdock.state.sources.size;
    const bad = await submit(browser, form, {
      repositories: `${org}/ok\nnot a repo\n<script>alert(1)</script>\n${org}/a/b`,
      events: 'pull_request, Bad-Kind',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain(
      '&quot;not a repo&quot; is not a repository: use owner/repo or owner/*',
    );
    expect(bad.body).toContain('&quot;Bad-Kind&quot; is not an event kind');
    expect(bad.body).not.toContain('<script>alert(1)</script>');
    expect(bad.body).toContain('&lt;script&gt;');
    expect(world.flowdock.state.sources.size).toBe(sourcesBefore);
    expect(await subscriptionsFor(`${org}/ok`)).toHaveLength(0);

    const empty = await submit(browser, formOf(bad), { repositories: '  \n ' });
    expect(empty.status).toBe(400);
    expect(empty.body).toContain('Enter at least one repository');

    const fixed = await submit(browser, formOf(empty), { repositories: `${org}/ok` });
    expect(fixed.status).toBe(201);
    expect(await subscriptionsFor(`${org}/ok`)).toHaveLength(1);

    // Connecting it again would post everything twice: refused, nothing created.
    const again = await submit(browser, await openForm(browser), { repositories: `${org}/ok` });
    expect(again.status).toBe(409);
    expect(again.body).toContain('Already connected');
    expect(await subscriptionsFor(`${org}/ok`)).toHaveLength(1);
  });

  it('two set-ups of one repository and flow at once: one connects it, the other is told it is connected', async () => {
    const org = owner();
    const [first, second] = [world.browser(), world.browser()];
    const forms = [await openForm(first), await openForm(second)];
    const sourcesBefore = world.flowdock.state.sources.size;
    const pages = await Promise.all([
      submit(first, forms[0], { repositories: `${org}/both` }),
      submit(second, forms[1], { repositories: `${org}/both` }),
    ]);
    expect(pages.map((p) => p.status).sort()).toEqual([201, 409]);
    expect(await subscriptionsFor(`${org}/both`)).toHaveLength(1);
    // One source in Flowdock: the waiting set-up created none.
    expect(world.flowdock.state.sources.size).toBe(sourcesBefore + 1);
  });

  it('declined consent ends on a 403 page and stores nothing', async () => {
    const browser = world.browser();
    const sourcesBefore = world.flowdock.state.sources.size;
    const { page } = await consent(browser, MAIN_FLOW, 'deny');
    expect(page.status).toBe(403);
    expect(page.body).toContain('Setup was cancelled');
    expect(page.headers['content-type']).toContain('text/html');
    expect(world.flowdock.state.sources.size).toBe(sourcesBefore);
  });

  it('a flow the user cannot see ends on a 404 page', async () => {
    const browser = world.browser();
    const { page } = await consent(browser, 'f99999999999999999999999');
    expect(page.status).toBe(404);
    expect(page.body).toContain('The flow was not found');
    expect(page.body).not.toContain('<form');
  });

  it('refuses a setup link without a usable flow id', async () => {
    const browser = world.browser();
    for (const query of ['', '?flow=', '?flow=a%2Fb%3Cc', '?flow=a&flow=b']) {
      const page = await browser.get(`${PUBLIC_URL}/flowdock/setup${query}`);
      expect(page.status).toBe(400);
      expect(page.body).toContain('No flow was named');
      expect(page.headers['set-cookie']).toBeUndefined();
    }
  });

  it('refuses callbacks and forms with a missing, foreign, replayed or other-purpose state', async () => {
    const browser = world.browser();
    const { callback, page } = await consent(browser, MAIN_FLOW);
    expect(page.status).toBe(200);
    // Replayed callback (the state was used).
    const replay = await browser.get(callback);
    expect(replay.status).toBe(400);
    // Another browser (no cookie): login CSRF.
    const stranger = world.browser();
    const foreign = await stranger.get(callback);
    expect(foreign.status).toBe(400);
    expect(foreign.body).toContain('was not started in this browser');

    // A cross-site POST of the form without this browser's cookie connects nothing.
    const form = formOf(page);
    const org = owner();
    const forged = await submit(stranger, form, { repositories: `${org}/x` });
    expect(forged.status).toBe(400);
    // A changed sealed token is refused as a changed form.
    const tampered = await browser.post(form.action, {
      token: `${form.token.slice(0, -4)}AAAA`,
      repositories: `${org}/x`,
    });
    expect(tampered.status).toBe(400);
    expect(tampered.body).toContain('This form cannot be used');
    expect(await subscriptionsFor(`${org}/x`)).toHaveLength(0);

    // The linking flow's state is not accepted by the setup callback, and the other way round.
    const linker = world.browser();
    const claim = await world.claims.issueClaim(world.fd('bob'));
    const link = await linker.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
    const linkState = new URL(link.location!).searchParams.get('state')!;
    const crossed = await linker.get(
      `${PUBLIC_URL}/flowdock/setup/callback?code=whatever&state=${linkState}`,
    );
    expect(crossed.status).toBe(400);
    expect(crossed.body).toContain('This setup step is over');

    const setupper = world.browser();
    const start = await setupper.get(`${PUBLIC_URL}/flowdock/setup?flow=${MAIN_FLOW}`);
    const setupState = new URL(start.location!).searchParams.get('state')!;
    const crossedBack = await setupper.get(
      `${PUBLIC_URL}/auth/flowdock/callback?code=whatever&state=${setupState}`,
    );
    expect(crossedBack.status).toBe(400);
    expect(crossedBack.body).not.toContain('linked');
  });

  it('a source that Flowdock fails to create stores nothing and names the sources already created', async () => {
    const browser = world.browser();
    const form = await openForm(browser);
    const org = owner();
    const sourcesBefore = world.flowdock.state.sources.size;
    // The first repository's source is created, the second one's fails.
    const createSource = world.flowdock.state.addSource.bind(world.flowdock.state);
    let calls = 0;
    world.flowdock.state.addSource = (...args) => {
      calls += 1;
      if (calls === 1) world.flowdock.state.sourceFaults.push({ status: 503 });
      return createSource(...args);
    };
    try {
      const page = await submit(browser, form, { repositories: `${org}/one\n${org}/two` });
      expect(page.status).toBe(502);
      expect(page.body).toContain('Setup did not finish');
      const [first] = [...world.flowdock.state.sources.values()].slice(sourcesBefore);
      expect(first.name).toBe(`${org}/one`);
      expect(page.body).toContain(`${org}/one (source ${first.id})`);
      expect(page.body).not.toContain(first.flowToken);
      expect(world.t.logs.join('\n')).toContain(`${first.id} (${org}/one)`);
      expect(world.t.logs.join('\n')).not.toContain(first.flowToken);
    } finally {
      world.flowdock.state.addSource = createSource;
      world.flowdock.state.sourceFaults.length = 0;
    }
    expect(await subscriptionsFor(`${org}/one`)).toHaveLength(0);
    expect(await subscriptionsFor(`${org}/two`)).toHaveLength(0);
  });

  it('a failing local commit stores no subscription and names the sources Flowdock created', async () => {
    const browser = world.browser();
    const form = await openForm(browser);
    const org = `commitfail${randomBytes(4).toString('hex')}`;
    const sourcesBefore = world.flowdock.state.sources.size;
    // The database refuses the second subscription (only this test's owner), after
    // the first one was written in the same transaction.
    const fn = `setup_refuse_${org}`;
    await db.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.repository_pattern = '${org}/two' THEN RAISE EXCEPTION 'refused by test'; END IF;
        RETURN NEW;
      END $$`);
    await db.query(
      `CREATE TRIGGER ${fn} BEFORE INSERT ON github_subscription FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
    );
    try {
      const page = await submit(browser, form, { repositories: `${org}/one\n${org}/two` });
      expect(page.status).toBe(500);
      expect(page.body).toContain('Setup did not finish');
      const created = [...world.flowdock.state.sources.values()].slice(sourcesBefore);
      expect(created.map((s) => s.name)).toEqual([`${org}/one`, `${org}/two`]);
      for (const source of created) {
        expect(page.body).toContain(`${source.name} (source ${source.id})`);
      }
    } finally {
      await db.query(`DROP TRIGGER ${fn} ON github_subscription`);
      await db.query(`DROP FUNCTION ${fn}()`);
    }
    expect(await subscriptionsFor(`${org}/one`)).toHaveLength(0);
    expect(await subscriptionsFor(`${org}/two`)).toHaveLength(0);
    const sources = await db.query<unknown[]>(`SELECT id FROM flowdock_source WHERE name LIKE $1`, [
      `${org}/%`,
    ]);
    expect(sources).toEqual([]);
  });
});

describe('Flowdock setup flow with Flowdock unreachable', () => {
  let world: AuthWorld;

  beforeAll(async () => {
    world = await startAuthWorld({ env: { FLOWDOCK_API_URL: await deadUrl() } });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('ends on a 502 page when the code cannot be exchanged', async () => {
    const browser = world.browser();
    const start = await browser.get(`${PUBLIC_URL}/flowdock/setup?flow=${MAIN_FLOW}`);
    // The consent page itself is at the simulator; the bridge's own calls go to the dead URL.
    const authorize = new URL(start.location!);
    const consentPage = await browser.get(
      `${world.flowdock.url}${authorize.pathname}${authorize.search}`,
    );
    const back = await browser.submitConsent(consentPage, {
      user_id: String(world.fdUsers.alice.id),
      decision: 'approve',
    });
    const page = await browser.get(back.location!);
    expect(page.status).toBe(502);
    expect(page.body).toContain('Flowdock cannot be reached');
    expect(page.body).toContain('Nothing was connected');
    await world.expectNoLeaks();
  });
});
