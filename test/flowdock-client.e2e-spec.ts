import { ConfigService } from '@nestjs/config';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { AppConfig, loadConfig } from '../src/config/app.config';
import { FlowdockClient } from '../src/flowdock/flowdock-client';
import {
  FlowdockGoneError,
  FlowdockRateLimitedError,
  FlowdockRefusedError,
  FlowdockUnavailableError,
} from '../src/flowdock/flowdock-errors';
import { testEnvironment } from './support/test-app';

const CLIENT_ID = 'client-flowdock-client-spec';
const CLIENT_SECRET = 'secret-flowdock-client-spec-0123456789abcdef';
const REDIRECT = 'http://127.0.0.1:9/auth/flowdock/callback';

function clientFor(apiUrl: string, overrides: Record<string, string> = {}): FlowdockClient {
  const { config } = loadConfig(
    testEnvironment({
      FLOWDOCK_API_URL: apiUrl,
      FLOWDOCK_CLIENT_ID: CLIENT_ID,
      FLOWDOCK_CLIENT_SECRET: CLIENT_SECRET,
      ...overrides,
    }),
  );
  return new FlowdockClient(new ConfigService<AppConfig, true>(config));
}

/** Runs the sandbox's authorize form as a browser would; returns the redirect's query. */
async function authorize(sim: FlowdockSimulator, userId: string, decision = 'approve') {
  const response = await fetch(`${sim.url}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT,
      response_type: 'code',
      state: 'st-1',
      scope: 'profile',
      user_id: userId,
      decision,
    }).toString(),
  });
  expect(response.status).toBe(302);
  return new URL(response.headers.get('location') as string).searchParams;
}

describe('FlowdockClient against the Flowdock simulator', () => {
  let sim: FlowdockSimulator;
  let client: FlowdockClient;

  beforeAll(async () => {
    sim = await FlowdockSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    client = clientFor(sim.url);
  });
  afterAll(() => sim.stop());

  it('exchanges a code and reads the user it belongs to, with the id as a string', async () => {
    const query = await authorize(sim, '1002');
    expect(query.get('state')).toBe('st-1');
    const tokens = await client.exchangeCode(query.get('code') as string, REDIRECT);
    expect(tokens.tokenType.toLowerCase()).toBe('bearer');
    expect(tokens.expiresIn).toBeGreaterThan(0);
    expect(tokens.refreshToken).toEqual(expect.any(String));
    const user = await client.getUser(tokens.accessToken);
    expect(user).toEqual({
      id: '1002',
      nick: 'bob',
      name: 'Bob Brown',
      email: 'bob@example.com',
      avatar: expect.any(String),
    });
  });

  it('builds the authorize URL the simulator serves a consent page for', async () => {
    const url = client.authorizationUrl({ redirectUri: REDIRECT, state: 's&1', scope: 'profile' });
    const parsed = new URL(url);
    expect(parsed.origin + parsed.pathname).toBe(`${sim.url}/oauth/authorize`);
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: REDIRECT,
      state: 's&1',
      scope: 'profile',
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="user_id"');
  });

  it('refuses a used code, a wrong redirect_uri and a bad token as FlowdockRefusedError', async () => {
    const code = (await authorize(sim, '1001')).get('code') as string;
    await client.exchangeCode(code, REDIRECT);
    const reused = await client.exchangeCode(code, REDIRECT).catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(FlowdockRefusedError);
    expect((reused as FlowdockRefusedError).status).toBe(400);
    expect((reused as Error).message).not.toContain(code);

    const other = (await authorize(sim, '1001')).get('code') as string;
    const mismatch = await client.exchangeCode(other, `${REDIRECT}/x`).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(FlowdockRefusedError);
    expect((mismatch as FlowdockRefusedError).flowdockMessage).toMatch(/redirect_uri/);

    const bad = await client.getUser('fda_not-a-token').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(FlowdockRefusedError);
    expect(bad).not.toBeInstanceOf(FlowdockUnavailableError);
    expect((bad as FlowdockRefusedError).status).toBe(401);
    expect((bad as Error).message).not.toContain('fda_not-a-token');
  });

  it('refuses a wrong client secret (invalid_client, 401)', async () => {
    const code = (await authorize(sim, '1003')).get('code') as string;
    const wrong = new FlowdockClient(
      new ConfigService<AppConfig, true>({
        ...loadConfig(testEnvironment({ FLOWDOCK_API_URL: sim.url })).config,
      }),
    );
    const error = await wrong.exchangeCode(code, REDIRECT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowdockRefusedError);
    expect((error as FlowdockRefusedError).status).toBe(401);
    expect((error as FlowdockRefusedError).flowdockMessage).toMatch(/invalid_client/);
  });

  it('refreshes tokens; the old refresh token then no longer works', async () => {
    const code = (await authorize(sim, '1001')).get('code') as string;
    const first = await client.exchangeCode(code, REDIRECT);
    const second = await client.refreshTokens(first.refreshToken as string);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect((await client.getUser(second.accessToken)).nick).toBe('alice');
    await expect(client.refreshTokens(first.refreshToken as string)).rejects.toBeInstanceOf(
      FlowdockRefusedError,
    );
  });

  it('posts a thread message with the flow token; 410 once the source is removed', async () => {
    const source = sim.state.addSource();
    await client.postMessage(source.flowToken, {
      event: 'activity',
      author: { name: 'octocat' },
      title: 'opened the pull request',
      external_thread_id: 'github:acme/widgets:pull:1',
      thread: { title: 'Add widgets', status: { color: 'green', value: 'open' } },
      uuid: 'client-spec-uuid-1',
    });
    const thread = sim.state.thread(source.id, 'github:acme/widgets:pull:1');
    expect(thread?.thread.title).toBe('Add widgets');
    expect(sim.state.messages.at(-1)?.body).not.toHaveProperty('flow_token');
    expect(sim.state.messages.at(-1)?.body.uuid).toBe('client-spec-uuid-1');

    sim.state.removeSource(source.id);
    const gone = await client
      .postMessage(source.flowToken, {
        event: 'activity',
        author: { name: 'octocat' },
        title: 'closed',
        external_thread_id: 'github:acme/widgets:pull:1',
        thread: { title: 'Add widgets' },
      })
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(FlowdockGoneError);
    expect((gone as Error).message).not.toContain(source.flowToken);
  });

  it('tells the thread id when asked to wait for the message, and posts chat into that thread', async () => {
    const source = sim.state.addSource();
    const message = {
      event: 'activity' as const,
      author: { name: 'octocat' },
      title: 'opened the issue',
      external_thread_id: 'github:acme/widgets:issue:9',
      thread: { title: 'Broken' },
    };
    expect(await client.postMessage(source.flowToken, message)).toEqual({});
    const thread = sim.state.thread(source.id, 'github:acme/widgets:issue:9')!;
    const waited = await client.postMessage(source.flowToken, message, { waitForMessage: true });
    expect(waited).toEqual({ threadId: thread.id });

    await client.postThreadChat(source.flowToken, {
      threadId: thread.id,
      content: 'Link your account: <http://bridge.test/x>',
      uuid: 'flowdock-github-bridge:notice:1',
    });
    expect(sim.state.messages.at(-1)?.body).toMatchObject({
      event: 'message',
      thread_id: thread.id,
      content: 'Link your account: <http://bridge.test/x>',
      uuid: 'flowdock-github-bridge:notice:1',
    });
    expect(sim.state.messages.at(-1)?.body).not.toHaveProperty('flow_token');
  });

  it('reports Flowdock validation errors as refused with its message', async () => {
    const source = sim.state.addSource();
    const error = await client
      .postMessage(source.flowToken, {
        event: 'activity',
        author: { name: '' },
        title: 'x',
        external_thread_id: 'github:acme/widgets:issue:2',
        thread: { title: 'T' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowdockRefusedError);
    expect((error as FlowdockRefusedError).status).toBe(400);
    expect((error as FlowdockRefusedError).flowdockMessage).toBe('Validation error');
  });

  it('maps 500 to unavailable and 429 to rate-limited with Retry-After', async () => {
    const source = sim.state.addSource();
    const message = {
      event: 'activity' as const,
      author: { name: 'octocat' },
      title: 't',
      external_thread_id: 'github:acme/widgets:issue:3',
      thread: { title: 'T' },
    };
    sim.state.faults.push({ status: 500 }, { status: 429, retryAfter: '7' }, { status: 503 });
    const e500 = await client.postMessage(source.flowToken, message).catch((e: unknown) => e);
    expect(e500).toBeInstanceOf(FlowdockUnavailableError);
    expect((e500 as FlowdockUnavailableError).status).toBe(500);
    const e429 = await client.postMessage(source.flowToken, message).catch((e: unknown) => e);
    expect(e429).toBeInstanceOf(FlowdockRateLimitedError);
    expect((e429 as FlowdockRateLimitedError).retryAfterMs).toBe(7000);
    const e503 = await client.postMessage(source.flowToken, message).catch((e: unknown) => e);
    expect(e503).toBeInstanceOf(FlowdockUnavailableError);
    expect(e503).not.toBeInstanceOf(FlowdockRefusedError);
  });

  it('finds a flow and creates a source with a user token', async () => {
    const code = (await authorize(sim, '1001')).get('code') as string;
    const { accessToken } = await client.exchangeCode(code, REDIRECT);
    const flow = await client.findFlow(accessToken, 'f10000000000000000000001');
    expect(flow).toMatchObject({ organization: 'acme', flow: 'main', path: 'acme/main' });
    const source = await client.createSource(accessToken, flow, { name: 'acme/widgets' });
    expect(sim.state.sources.get(Number(source.id))?.flowToken).toBe(source.flowToken);
    await expect(client.findFlow(accessToken, 'nope')).rejects.toMatchObject({ status: 404 });
  });
});

describe('FlowdockClient when Flowdock is unreachable or slow', () => {
  let silent: Server;
  let silentUrl: string;

  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('times out as FlowdockUnavailableError', async () => {
    const client = clientFor(silentUrl, { FLOWDOCK_TIMEOUT_MS: '200' });
    const error = await client.getUser('fda_x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowdockUnavailableError);
    expect((error as Error).message).toMatch(/no answer within 200 ms/);
  });

  it('a refused connection is FlowdockUnavailableError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await clientFor(`http://127.0.0.1:${port}`)
      .exchangeCode('c', REDIRECT)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowdockUnavailableError);
    expect((error as Error).message).toMatch(/connection failed/);
  });
});
