import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';

const CLIENT_ID = 'client-simulator-spec';
const CLIENT_SECRET = 'secret-simulator-spec-0123456789abcdef';
const REDIRECT = 'http://127.0.0.1:9/auth/flowdock/callback';

describe('Flowdock simulator OAuth', () => {
  let sim: FlowdockSimulator;
  beforeAll(async () => {
    sim = await FlowdockSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  });
  afterAll(() => sim.stop());

  const authorizeQuery = (extra: Record<string, string> = {}) =>
    new URLSearchParams({
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT,
      response_type: 'code',
      state: 'abc"<x>',
      scope: 'profile',
      ...extra,
    });

  const submit = (fields: Record<string, string>) =>
    fetch(`${sim.url}/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  it('serves a page that lists the sandbox users and carries the request in hidden fields', async () => {
    const response = await fetch(`${sim.url}/oauth/authorize?${authorizeQuery().toString()}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const id of ['1001', '1002', '1003']) {
      expect(html).toContain(`name="user_id" value="${id}"`);
    }
    expect(html).toContain('name="decision" value="approve"');
    expect(html).toContain('name="decision" value="deny"');
    // The state is escaped, not injected.
    expect(html).toContain('value="abc&quot;&lt;x&gt;"');
    expect(html).not.toContain('abc"<x>');
  });

  it('pre-selects the user chosen in the team inbox (its cookie), else the first user', async () => {
    const page = async (cookie?: string) => {
      const response = await fetch(`${sim.url}/oauth/authorize?${authorizeQuery().toString()}`, {
        headers: cookie ? { cookie } : {},
      });
      return [...(await response.text()).matchAll(/value="(\d+)" checked/g)].map((m) => m[1]);
    };
    expect(await page('flowdock-sandbox-user=1002')).toEqual(['1002']);
    expect(await page()).toEqual(['1001']);
    // Not a sandbox user, or not a number: the first user, as without a choice.
    expect(await page('flowdock-sandbox-user=999')).toEqual(['1001']);
    expect(await page('flowdock-sandbox-user=1002abc')).toEqual(['1001']);
  });

  it.each([
    ['an unknown client_id', { client_id: 'other' }, /Unknown client_id/],
    ['response_type token', { response_type: 'token' }, /response_type/],
    ['a missing redirect_uri', { redirect_uri: '' }, /redirect_uri/],
    ['a javascript: redirect_uri', { redirect_uri: 'javascript:alert(1)' }, /redirect_uri/],
  ])('answers 400 to %s', async (_label, extra, message) => {
    const response = await fetch(`${sim.url}/oauth/authorize?${authorizeQuery(extra).toString()}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(message);
  });

  it('redirects with a code and the state on approve, with access_denied on deny', async () => {
    const fields = Object.fromEntries(authorizeQuery({ state: 's1' }));
    const approved = await submit({ ...fields, user_id: '1003', decision: 'approve' });
    expect(approved.status).toBe(302);
    const location = new URL(approved.headers.get('location') as string);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('s1');
    expect(location.searchParams.get('code')).toMatch(/^[0-9a-f]{32}$/);

    const denied = await submit({ ...fields, user_id: '1003', decision: 'deny' });
    const deniedAt = new URL(denied.headers.get('location') as string);
    expect(deniedAt.searchParams.get('error')).toBe('access_denied');
    expect(deniedAt.searchParams.get('state')).toBe('s1');
    expect(deniedAt.searchParams.has('code')).toBe(false);
  });

  it('refuses an unknown user or a missing decision', async () => {
    const fields = Object.fromEntries(authorizeQuery());
    expect((await submit({ ...fields, user_id: '999', decision: 'approve' })).status).toBe(400);
    expect((await submit({ ...fields, user_id: '1001' })).status).toBe(400);
  });

  it('exchanges a code once, as a form with a urlencoded answer', async () => {
    const fields = Object.fromEntries(authorizeQuery());
    const approved = await submit({ ...fields, user_id: '1001', decision: 'approve' });
    const code = new URL(approved.headers.get('location') as string).searchParams.get('code');
    const exchange = () =>
      fetch(`${sim.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          grant_type: 'authorization_code',
          code: code as string,
          redirect_uri: REDIRECT,
        }).toString(),
      });
    const first = await exchange();
    expect(first.status).toBe(200);
    const tokens = new URLSearchParams(await first.text());
    expect(tokens.get('token_type')).toBe('bearer');
    const user = await fetch(`${sim.url}/user`, {
      headers: { authorization: `Bearer ${tokens.get('access_token')}` },
    });
    expect(await user.json()).toMatchObject({ id: 1001, nick: 'alice' });

    const second = await exchange();
    expect(second.status).toBe(400);
    expect(new URLSearchParams(await second.text()).get('error')).toBe('invalid_grant');
  });

  it('refuses an expired code and revoked tokens', async () => {
    sim.state.codeTtlMs = -1;
    const fields = Object.fromEntries(authorizeQuery());
    const approved = await submit({ ...fields, user_id: '1002', decision: 'approve' });
    sim.state.codeTtlMs = 60_000;
    const code = new URL(approved.headers.get('location') as string).searchParams.get('code');
    const expired = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
      }),
    });
    expect(expired.status).toBe(400);
    expect(await expired.json()).toMatchObject({ error: 'invalid_grant' });

    const issued = sim.state.issueTokens(1002, CLIENT_ID, '');
    sim.state.revokeUser(1002);
    const user = await fetch(`${sim.url}/user`, {
      headers: { authorization: `Bearer ${issued.access_token}` },
    });
    expect(user.status).toBe(401);
  });

  it('lists the team inbox threads of a flow with their newest state', async () => {
    const source = sim.state.addSource();
    const post = (title: string, status: string) =>
      fetch(`${sim.url}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          flow_token: source.flowToken,
          event: 'activity',
          author: { name: 'octocat' },
          title,
          external_thread_id: 'github:acme/inbox:issue:1',
          thread: { title: 'Inbox thread', status: { color: 'green', value: status } },
        }),
      });
    expect((await post('opened', 'open')).status).toBe(202);
    expect((await post('closed', 'closed')).status).toBe(202);
    const { access_token } = sim.state.issueTokens(1001, CLIENT_ID, '');
    const response = await fetch(`${sim.url}/flows/acme/main/threads`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    const threads = (await response.json()) as {
      title: string;
      status: { value: string };
      activities: number;
    }[];
    expect(threads.find((t) => t.title === 'Inbox thread')).toMatchObject({
      status: { value: 'closed' },
      activities: 2,
    });
    expect((await fetch(`${sim.url}/flows/acme/main/threads`)).status).toBe(401);
  });
});
