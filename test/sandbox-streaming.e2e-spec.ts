import { chromium } from 'playwright-core';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { SimSource } from '../sandbox/flowdock/flowdock-state';
import { GitHubReposState } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { githubRepoRoutes } from '../sandbox/github/repos.routes';

type Json = Record<string, unknown>;

const CLIENT_ID = 'client-streaming-spec';
const CLIENT_SECRET = 'secret-streaming-spec-0123456789abcdef';

/** An open streaming response read in the background: its text so far, and whether it ended. */
interface OpenStream {
  response: Response;
  text(): string;
  ended(): boolean;
  /** Waits until `check` holds for the text (fails with what arrived after `ms`). */
  until(check: (text: string) => boolean, ms?: number): Promise<string>;
  abort(): void;
}

async function stream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  let text = '';
  let ended = false;
  if (response.body) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value as Uint8Array, { stream: true });
        }
      } catch {
        // Aborted by the test.
      }
      ended = true;
    })();
  } else {
    ended = true;
  }
  return {
    response,
    text: () => text,
    ended: () => ended,
    abort: () => controller.abort(),
    until: async (check, ms = 5000) => {
      const deadline = Date.now() + ms;
      while (!check(text)) {
        if (Date.now() > deadline)
          throw new Error(`Timed out; the stream sent ${JSON.stringify(text)}`);
        await sleep(10);
      }
      return text;
    },
  };
}

/** The complete objects of a JSON stream (each ended by "\r"; "\n" keep-alives between). */
const jsonObjects = (text: string): Json[] =>
  text
    .split('\r')
    .slice(0, -1)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => JSON.parse(part) as Json);

/** The complete events of an event-stream: their `id` and parsed `data`. */
const sseEvents = (text: string): { id: string; data: Json }[] =>
  text
    .split('\n\n')
    .slice(0, -1)
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const lines = block.split('\n');
      const id = lines.find((l) => l.startsWith('id: '))?.slice(4) ?? '';
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '{}';
      return { id, data: JSON.parse(data) as Json };
    });

describe('Flowdock simulator: thread ids, users in threads and the streaming API', () => {
  let sim: FlowdockSimulator;
  let source: SimSource;
  let alice: string;
  let bob: string;
  const open: OpenStream[] = [];
  const listen = async (path: string, headers: Record<string, string> = {}) => {
    const s = await stream(`${sim.url}${path}`, headers);
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    sim = await FlowdockSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    source = sim.state.addSource();
    alice = sim.state.issueTokens(1001, CLIENT_ID, 'flow').access_token;
    bob = sim.state.issueTokens(1002, CLIENT_ID, 'flow').access_token;
    sim.state.addFlow({
      id: 'f20000000000000000000002',
      organization: 'acme',
      flow: 'private',
      name: 'Private',
      members: [1001],
    });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.abort();
    sim.state.streamFault = undefined;
    sim.state.streamKeepAliveMs = 15_000;
  });
  afterAll(() => sim.stop());

  let threadCount = 0;
  /** The bridge's post into a new thread, waiting for the stored message. */
  const bridgePost = async (extra: Json = {}) => {
    const response = await fetch(`${sim.url}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-flowdock-wait-for-message': 'true' },
      body: JSON.stringify({
        flow_token: source.flowToken,
        event: 'activity',
        author: { name: 'octocat' },
        title: 'opened pull request',
        external_thread_id: `github:acme/widgets:pull:${++threadCount}`,
        thread: { title: `Pull ${threadCount}`, external_url: 'https://github.example/pull/1' },
        uuid: `bridge-${threadCount}`,
        ...extra,
      }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Json;
  };
  /** A user's reply through the REST API. */
  const reply = (token: string, body: Json, path = '/flows/acme/main/messages') =>
    fetch(`${sim.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'x-flowdock-wait-for-message': 'true',
      },
      body: JSON.stringify(body),
    });

  it('answers a waited-for post with the stored message and its opaque thread id', async () => {
    const message = await bridgePost();
    expect(message).toMatchObject({
      event: 'activity',
      flow: 'f10000000000000000000001',
      app: 'influx',
      user: '0',
      uuid: `bridge-${threadCount}`,
      title: 'opened pull request',
      author: { name: 'octocat' },
      thread: { title: `Pull ${threadCount}`, activities: 1 },
    });
    expect(typeof message.id).toBe('number');
    expect(typeof message.sent).toBe('number');
    expect(message.thread_id).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((message.thread as Json).id).toBe(message.thread_id);
    expect(message).not.toHaveProperty('flow_token');

    // The same thread keeps its id; another thread has its own.
    const again = await bridgePost({
      external_thread_id: `github:acme/widgets:pull:${threadCount}`,
    });
    expect(again.thread_id).toBe(message.thread_id);
    expect((await bridgePost()).thread_id).not.toBe(message.thread_id);

    // Without the header: 202, as before.
    const unwaited = await fetch(`${sim.url}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ flow_token: source.flowToken, event: 'message', content: 'hi' }),
    });
    expect(unwaited.status).toBe(202);

    // The threads list uses the same id.
    const threads = (await (
      await fetch(`${sim.url}/flows/acme/main/threads`, {
        headers: { authorization: `Bearer ${alice}` },
      })
    ).json()) as Json[];
    expect(threads.find((t) => t.id === message.thread_id)).toMatchObject({
      title: (again.thread as Json).title,
      activities: 2,
      internal_comments: 0,
    });
  });

  it('streams the bridge post and a user reply as JSON objects ended by "\\r"', async () => {
    const s = await listen('/flows?filter=acme/main', { authorization: `Bearer ${alice}` });
    expect(s.response.status).toBe(200);
    expect(s.response.headers.get('content-type')).toMatch(/^application\/json/);
    const posted = await bridgePost();
    const answer = await reply(bob, {
      event: 'message',
      content: 'Looks good, #ship it',
      thread_id: posted.thread_id,
      uuid: 'reply-uuid-1',
      tags: ['@alice', 'Review'],
    });
    expect(answer.status).toBe(200);
    const stored = (await answer.json()) as Json;
    await s.until((text) => jsonObjects(text).length >= 2);
    const [integration, user] = jsonObjects(s.text());
    expect(integration).toEqual({ ...posted });
    expect(integration).toMatchObject({ event: 'activity', app: 'influx', user: '0' });
    expect(user).toEqual(stored);
    expect(user).toMatchObject({
      event: 'message',
      app: 'chat',
      user: '1002',
      content: 'Looks good, #ship it',
      flow: 'f10000000000000000000001',
      thread_id: posted.thread_id,
      uuid: 'reply-uuid-1',
      tags: ['@alice', 'review', 'ship'],
      thread: { id: posted.thread_id, internal_comments: 1 },
    });
    expect(user.id).toBeGreaterThan(integration.id as number);
    expect(typeof user.sent).toBe('number');
  });

  it('streams Server-Sent Events with the message id as event id, by flow id or path', async () => {
    const byId = await listen('/flows?filter=f10000000000000000000001&accept=text/event-stream', {
      authorization: `Bearer ${alice}`,
    });
    const byPath = await listen(`/flows/acme/main?access_token=${alice}`, {
      accept: 'text/event-stream',
    });
    for (const s of [byId, byPath]) {
      expect(s.response.status).toBe(200);
      expect(s.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    }
    const posted = await bridgePost();
    const stored = (await (
      await reply(alice, {
        event: 'message',
        content: 'Reply over SSE',
        thread_id: posted.thread_id,
      })
    ).json()) as Json;
    for (const s of [byId, byPath]) {
      await s.until((text) => sseEvents(text).length >= 2);
      const events = sseEvents(s.text());
      expect(events.map((e) => e.id)).toEqual([String(posted.id), String(stored.id)]);
      expect(events[0].data).toMatchObject({ event: 'activity', thread_id: posted.thread_id });
      expect(events[1].data).toMatchObject({
        event: 'message',
        user: '1001',
        content: 'Reply over SSE',
        thread_id: posted.thread_id,
      });
    }
  });

  it('sends keep-alives on idle streams', async () => {
    sim.state.streamKeepAliveMs = 50;
    const json = await listen('/flows/acme/main', { authorization: `Bearer ${alice}` });
    const sse = await listen('/flows/acme/main?accept=text/event-stream', {
      authorization: `Bearer ${alice}`,
    });
    await json.until((text) => text.length >= 3);
    expect(json.text()).toMatch(/^\n{3,}$/);
    await sse.until((text) => text.split(': keep-alive\n\n').length >= 3);
    expect(sse.text()).toMatch(/^(: keep-alive\n\n)+$/);
  });

  it('replays exactly the missed events of the filtered flows after Last-Event-ID, then goes live', async () => {
    const first = await listen('/flows?filter=acme/main', {
      authorization: `Bearer ${alice}`,
      accept: 'text/event-stream',
    });
    const seen = await bridgePost();
    await first.until((text) => sseEvents(text).length === 1);
    const lastId = sseEvents(first.text())[0].id;
    expect(lastId).toBe(String(seen.id));
    first.abort();

    // Missed: two posts in acme/main, one in a flow the stream does not filter.
    const missed1 = await bridgePost();
    const other = sim.state.addSource('f20000000000000000000002');
    sim.state.recordMessage(other, { event: 'message', content: 'elsewhere' });
    const missed2 = (await (
      await reply(bob, { event: 'message', content: 'missed reply', thread_id: missed1.thread_id })
    ).json()) as Json;

    const resumed = await listen('/flows?filter=acme/main', {
      authorization: `Bearer ${alice}`,
      accept: 'text/event-stream',
      'last-event-id': lastId,
    });
    await resumed.until((text) => sseEvents(text).length >= 2);
    const live = await bridgePost();
    await resumed.until((text) => sseEvents(text).length >= 3);
    expect(sseEvents(resumed.text()).map((e) => e.id)).toEqual(
      [missed1.id, missed2.id, live.id].map(String),
    );

    // The JSON stream resumes by query parameter.
    const json = await listen(`/flows?filter=acme/main,acme/private&last_event_id=${lastId}`, {
      authorization: `Bearer ${alice}`,
    });
    await json.until((text) => jsonObjects(text).length >= 4);
    expect(jsonObjects(json.text()).map((m) => m.id)).toEqual([
      missed1.id,
      (missed1.id as number) + 1, // the post in acme/private, which this filter names
      missed2.id,
      live.id,
    ]);
    expect(jsonObjects(json.text())[1]).toMatchObject({ content: 'elsewhere' });
  });

  it('keeps a bounded history per flow', async () => {
    const limit = sim.state.streams.historyLimit;
    sim.state.streams.historyLimit = 2;
    try {
      const start = await bridgePost();
      const kept = [await bridgePost(), await bridgePost()];
      const s = await listen(`/flows/acme/main?last_event_id=${(start.id as number) - 1}`, {
        authorization: `Bearer ${alice}`,
      });
      await s.until((text) => jsonObjects(text).length >= 2);
      await sleep(50);
      expect(jsonObjects(s.text()).map((m) => m.id)).toEqual(kept.map((m) => m.id));
    } finally {
      sim.state.streams.historyLimit = limit;
    }
  });

  it('drops open streams on dropStreams() and refuses new ones during a stream fault', async () => {
    const a = await listen('/flows/acme/main', { authorization: `Bearer ${alice}` });
    const b = await listen('/flows?filter=acme/main&accept=text/event-stream', {
      authorization: `Bearer ${bob}`,
    });
    expect(sim.state.openStreams).toBe(2);
    expect(sim.state.dropStreams()).toBe(2);
    await a.until(() => a.ended());
    await b.until(() => b.ended());
    expect(sim.state.openStreams).toBe(0);

    sim.state.streamFault = { status: 503, retryAfter: '2' };
    const refused = await fetch(`${sim.url}/flows/acme/main`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(sim.state.openStreams).toBe(0);
    sim.state.streamFault = undefined;
    const back = await listen('/flows/acme/main', { authorization: `Bearer ${alice}` });
    expect(back.response.status).toBe(200);
  });

  it('refuses streams without a valid token (401), to non-members (403) and for unknown flows (404)', async () => {
    const status = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${sim.url}${path}`, headers ? { headers } : {});
      await response.body?.cancel();
      return response.status;
    };
    const expired = sim.state.issueTokens(1001, CLIENT_ID, '').access_token;
    sim.state.accessTokens.get(expired)!.expiresAt = Date.now() - 1;
    const revoked = sim.state.issueTokens(1003, CLIENT_ID, '').access_token;
    sim.state.revokeUser(1003);
    expect(await status('/flows?filter=acme/main')).toBe(401);
    expect(await status('/flows/acme/main', { authorization: 'Bearer nope' })).toBe(401);
    expect(await status('/flows/acme/main', { authorization: `Bearer ${expired}` })).toBe(401);
    expect(await status(`/flows/acme/main?access_token=${revoked}`)).toBe(401);
    const asBob = { authorization: `Bearer ${bob}` };
    expect(await status('/flows?filter=acme/main,acme/private', asBob)).toBe(403);
    expect(await status('/flows/acme/private', asBob)).toBe(403);
    expect(await status('/flows?filter=f20000000000000000000002', asBob)).toBe(403);
    expect(await status('/flows?filter=acme/nowhere', asBob)).toBe(404);
    expect(await status('/flows/acme/nowhere', asBob)).toBe(404);
    expect(await status('/flows?filter=', asBob)).toBe(400);
    expect(sim.state.openStreams).toBe(0);
    // Without filter, GET /flows is still the flows list.
    const list = await fetch(`${sim.url}/flows`, { headers: asBob });
    expect(((await list.json()) as Json[]).map((f) => f.id)).toEqual(['f10000000000000000000001']);
  });

  it("refuses users' posts that are not theirs to make", async () => {
    const posted = await bridgePost();
    const threadId = posted.thread_id as string;
    const before = sim.state.userMessages.length;
    expect(
      (await reply('nope', { event: 'message', content: 'x', thread_id: threadId })).status,
    ).toBe(401);
    expect(
      (await reply(alice, { event: 'message', content: 'x', thread_id: 'unknown-thread' })).status,
    ).toBe(404);
    const blank = await reply(alice, { event: 'message', content: ' ', thread_id: threadId });
    expect(blank.status).toBe(400);
    expect(await blank.json()).toMatchObject({ errors: { content: ["can't be blank"] } });
    expect(
      (await reply(alice, { event: 'status', content: 'x', thread_id: threadId })).status,
    ).toBe(400);
    // A thread of another flow is not found in this one.
    expect(
      (
        await reply(
          alice,
          { event: 'message', content: 'x', thread_id: threadId },
          '/flows/acme/private/messages',
        )
      ).status,
    ).toBe(404);
    // Bob is not a member of acme/private.
    expect(
      (await reply(bob, { event: 'message', content: 'x' }, '/flows/acme/private/messages')).status,
    ).toBe(403);
    expect(sim.state.userMessages.length).toBe(before);

    // The thread's own messages URL (messages.md) works like thread_id.
    const viaPath = await reply(
      bob,
      { event: 'message', content: 'by path' },
      `/flows/acme/main/threads/${threadId}/messages`,
    );
    expect(viaPath.status).toBe(200);
    expect(await viaPath.json()).toMatchObject({ thread_id: threadId, user: '1002' });
    expect(sim.state.userMessages.at(-1)).toMatchObject({ threadId, userId: 1002 });
  });

  it('records a reply from the inbox form as that user: streamed, and shown in the thread card', async () => {
    const s = await listen('/flows/acme/main', { authorization: `Bearer ${alice}` });
    const posted = await bridgePost();
    const key = `${source.id}:github:acme/widgets:pull:${threadCount}`;
    const threadsJson = async () =>
      (
        (await (await fetch(`${sim.url}/inbox/threads`)).json()) as {
          threads: { key: string; hash: string; html: string }[];
        }
      ).threads.find((t) => t.key === key)!;
    const before = await threadsJson();
    expect(before.html).toContain(`<form class="reply" data-thread="${key}">`);

    const sent = await fetch(`${sim.url}/inbox/replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ thread: key, content: 'From the <b>inbox</b>', user: '1003' }),
    });
    expect(sent.status).toBe(200);
    await s.until((text) => jsonObjects(text).length >= 2);
    expect(jsonObjects(s.text())[1]).toMatchObject({
      event: 'message',
      user: '1003',
      content: 'From the <b>inbox</b>',
      thread_id: posted.thread_id,
    });
    const after = await threadsJson();
    expect(after.hash).not.toBe(before.hash);
    expect(after.html).toMatch(
      /<li class="reply"><time>[\d:]+<\/time> <strong class="author">@carol<\/strong> <span class="text">From the &lt;b&gt;inbox&lt;\/b&gt;<\/span><\/li>/,
    );
    expect(after.html).not.toContain('<b>inbox</b>');
    expect(after.html).toContain('Activity (2) · 1 reply</summary>');
    // In the timeline, interleaved with the integration's messages: only it and its count changed.
    const parts = (html: string) =>
      Object.fromEntries(
        [...html.matchAll(/data-part="(\w+)" data-hash="([\w-]+)"/g)].map((m) => [m[1], m[2]]),
      );
    const changed = Object.entries(parts(after.html))
      .filter(([name, h]) => parts(before.html)[name] !== h)
      .map(([name]) => name);
    expect(changed).toEqual(['summary', 'timeline']);

    const refuse = (body: Json) =>
      fetch(`${sim.url}/inbox/replies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    expect(await refuse({ thread: 'nope', content: 'x', user: '1001' })).toBe(404);
    expect(await refuse({ thread: key, content: 'x', user: '999' })).toBe(400);
    expect(await refuse({ thread: key, content: '', user: '1001' })).toBe(400);
  });

  it('ends open streams when the simulator closes', async () => {
    const other = await FlowdockSimulator.start({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
    });
    const token = other.state.issueTokens(1001, CLIENT_ID, '').access_token;
    const s = await stream(`${other.url}/flows/acme/main`, { authorization: `Bearer ${token}` });
    expect(other.state.openStreams).toBe(1);
    const started = Date.now();
    await other.app.close(); // not stop(): no closeAllConnections to help
    expect(Date.now() - started).toBeLessThan(2000);
    await s.until(() => s.ended());
  });
});

describe('GitHub simulator: issue comments', () => {
  const SECRET = 'comments-webhook-secret-0123456789';
  let sim: GitHubSimulator;
  let repos: GitHubReposState;
  let receiver: Server;
  const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    repos = new GitHubReposState();
    repos.webhookTarget = { url: `http://127.0.0.1:${port}/hooks`, secret: SECRET };
    repos.addRepo('acme/public', { permissions: { hubot: 'write' } });
    repos.addItem('acme/public', { number: 1, kind: 'pull', title: 'A pull request' });
    repos.addItem('acme/public', { number: 2, kind: 'issue', title: 'An issue', locked: true });
    repos.addRepo('acme/secret', { private: true });
    repos.addItem('acme/secret', { number: 1, kind: 'issue' });
    sim = await GitHubSimulator.start({ routes: [githubRepoRoutes(repos)] });
  });
  afterAll(async () => {
    await sim?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('Timed out waiting for a webhook');
      await sleep(10);
    }
  };
  const tokenOf = (login: string) =>
    sim.state.issueToken(sim.state.userByLogin(login)!.id, 'client', ['repo']);
  const comment = (path: string, body: unknown, token?: string) =>
    fetch(`${sim.url}/repos/${path}/comments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });

  it('stores a comment by anyone who can read a public repository and sends the signed webhook', async () => {
    const sent = hooks.length;
    // monalisa has no grant on acme/public: read access, as everyone on a public repository.
    const response = await comment(
      'acme/public/issues/1',
      { body: 'Replied from Flowdock' },
      tokenOf('monalisa'),
    );
    expect(response.status).toBe(201);
    const created = (await response.json()) as Json;
    expect(created).toMatchObject({
      body: 'Replied from Flowdock',
      user: { login: 'monalisa' },
      author_association: 'NONE',
    });
    expect(typeof created.id).toBe('number');
    expect(typeof (created.user as Json).id).toBe('number');
    expect(created.html_url).toBe(
      `${repos.webUrl}/acme/public/pull/1#issuecomment-${created.id as number}`,
    );
    expect(created.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);

    const item = repos.repo('acme/public')!.items.get(1)!;
    expect(item.comments.at(-1)).toMatchObject({
      id: created.id,
      author: 'monalisa',
      body: 'Replied from Flowdock',
    });

    // The webhook follows the answer, as GitHub's does.
    await until(() => hooks.length > sent);
    expect(hooks.length).toBe(sent + 1);
    const hook = hooks.at(-1)!;
    expect(hook.headers['x-github-event']).toBe('issue_comment');
    expect(hook.headers['x-hub-signature-256']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(hook.body).digest('hex')}`,
    );
    const payload = JSON.parse(hook.body) as Json;
    expect(payload).toMatchObject({
      action: 'created',
      issue: {
        number: 1,
        comments: item.comments.length,
        pull_request: { html_url: expect.any(String) },
      },
      comment: {
        id: created.id,
        body: 'Replied from Flowdock',
        user: { login: 'monalisa' },
        html_url: created.html_url,
        created_at: created.created_at,
      },
      repository: { full_name: 'acme/public' },
      sender: { login: 'monalisa' },
    });

    // Listed by the REST API.
    const list = (await (
      await fetch(`${sim.url}/repos/acme/public/issues/1/comments`)
    ).json()) as Json[];
    expect(list.at(-1)).toEqual(created);
  });

  it('refuses bad tokens (401), locked conversations without write access (403), unknown or hidden items (404) and empty bodies (422)', async () => {
    const sent = hooks.length;
    const monalisa = tokenOf('monalisa');
    expect((await comment('acme/public/issues/1', { body: 'x' })).status).toBe(401);
    expect((await comment('acme/public/issues/1', { body: 'x' }, 'ghu_sim_nope')).status).toBe(401);
    expect((await comment('acme/public/issues/2', { body: 'x' }, monalisa)).status).toBe(403);
    expect((await comment('acme/public/issues/99', { body: 'x' }, monalisa)).status).toBe(404);
    expect((await comment('acme/nowhere/issues/1', { body: 'x' }, monalisa)).status).toBe(404);
    // A private repository without access hides itself, as on GitHub.
    expect((await comment('acme/secret/issues/1', { body: 'x' }, monalisa)).status).toBe(404);
    expect((await comment('acme/public/issues/1', { body: '  ' }, monalisa)).status).toBe(422);
    expect((await comment('acme/public/issues/1', {}, monalisa)).status).toBe(422);
    await sleep(100); // a webhook would follow its answer
    expect(hooks.length).toBe(sent);
    expect(repos.repo('acme/public')!.items.get(2)!.comments).toEqual([]);

    // A collaborator with write access may comment on the locked issue; its webhook has no pull_request.
    const locked = await comment(
      'acme/public/issues/2',
      { body: 'Locked, but mine' },
      tokenOf('hubot'),
    );
    expect(locked.status).toBe(201);
    expect(await locked.json()).toMatchObject({ author_association: 'COLLABORATOR' });
    await until(() => hooks.length > sent);
    const payload = JSON.parse(hooks.at(-1)!.body) as { issue: Json };
    expect(payload.issue.number).toBe(2);
    expect(payload.issue).not.toHaveProperty('pull_request');
  });
});

const CHROMIUM = '/usr/bin/chromium';
(existsSync(CHROMIUM) ? describe : describe.skip)('sandbox inbox reply form, in Chromium', () => {
  it('keeps what is typed across updates and posts the reply as the chosen user', async () => {
    const sim = await FlowdockSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    // playwright-core gives the browser a fresh profile of its own.
    const browser = await chromium
      .launch({
        executablePath: CHROMIUM,
        args: [
          ...['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
          ...['--disable-component-update', '--disable-sync', '--no-first-run'],
        ],
      })
      .catch(async (error: unknown) => {
        await sim.stop();
        throw error;
      });
    try {
      const source = sim.state.addSource();
      const post = (title: string) =>
        sim.state.recordMessage(source, {
          event: 'activity',
          author: { name: 'octocat' },
          title,
          external_thread_id: 'github:acme/widgets:issue:1',
          thread: { title: 'Widgets break' },
        });
      post('opened issue');
      const page = await browser.newPage();
      await page.goto(`${sim.url}/inbox?as=1002`);
      const input = page.locator('form.reply input[name="content"]');
      await input.fill('Typed while the thread changes');
      post('labelled bug');
      // The page applies the change (every 1.5 s) without touching the form.
      await page.locator('details summary').first().click();
      await page.locator('.timeline li', { hasText: 'labelled bug' }).waitFor({ timeout: 5000 });
      expect(await input.inputValue()).toBe('Typed while the thread changes');

      await page.locator('form.reply button').click();
      await page
        .locator('.timeline li.reply', { hasText: '@bob Typed while the thread changes' })
        .waitFor({ timeout: 5000 });
      expect(await input.inputValue()).toBe('');
      expect(sim.state.userMessages).toMatchObject([
        { userId: 1002, content: 'Typed while the thread changes' },
      ]);
    } finally {
      await browser.close();
      await sim.stop();
    }
  }, 60_000);
});
