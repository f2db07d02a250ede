import Fastify, { FastifyInstance } from 'fastify';
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortInUseError, startDemo } from '../sandbox/demo/demo-world';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { GitHubReposState } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { githubReposPageRoutes } from '../sandbox/github/repos-page.routes';

const SECRET = 'sandbox-pages-secret-0123456789abcdef0123';

/** A loopback integration endpoint that records what the inbox sends and answers as told. */
async function integration() {
  const received: { headers: Record<string, unknown>; body: string }[] = [];
  let answer: { status: number; headers?: Record<string, string>; body: unknown } = {
    status: 200,
    body: {},
  };
  const app: FastifyInstance = Fastify();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/action', async (request, reply) => {
    received.push({ headers: request.headers, body: request.body as string });
    return reply
      .code(answer.status)
      .headers(answer.headers ?? {})
      .send(answer.body);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/action`,
    received,
    answer: (next: typeof answer) => (answer = next),
    stop: () => app.close(),
  };
}

describe('sandbox pages', () => {
  let fd: FlowdockSimulator;
  let target: Awaited<ReturnType<typeof integration>>;
  let threadKey: string;

  beforeAll(async () => {
    fd = await FlowdockSimulator.start({ clientId: 'pages-app', clientSecret: SECRET });
    target = await integration();
    const source = fd.state.addSource();
    fd.state.recordMessage(source, {
      event: 'activity',
      title: 'opened <script>alert(1)</script>',
      author: { name: '<img src=x onerror=alert(2)>' },
      external_thread_id: 'hostile',
      thread: {
        title: '#7 &lt;svg onload=alert(3)&gt; <svg onload=alert(8)>',
        body:
          '<p>Hi <script>alert(4)</script><b>there</b> <strong>you</strong></p>\n' +
          '<ul><li><a href="https://example.test/doc" onclick="alert(9)">doc</a></li></ul>' +
          '<style>body{display:none}</style><iframe src="https://example.test/"></iframe>',
        status: { color: 'red;background:url(x)', value: '<i>weird</i>' },
        fields: [{ label: 'Author', value: '<a href="javascript:alert(5)">x</a>' }],
        external_url: 'javascript:alert(6)',
        actions: [
          {
            '@type': 'UpdateAction',
            name: 'Assign to me',
            target: { '@type': 'EntryPoint', urlTemplate: target.url, httpMethod: 'POST' },
          },
          { '@type': 'ViewAction', name: 'Evil', url: 'javascript:alert(7)' },
          { '@type': 'ViewAction', name: 'View diff', url: 'https://github.example.test/pull/7' },
        ],
      },
    });
    threadKey = `${source.id}:hostile`;
  });
  afterAll(async () => {
    await fd?.stop();
    await target?.stop();
  });

  const click = (body: Record<string, unknown>) =>
    fd.app.inject({ method: 'POST', url: '/inbox/actions', payload: body });

  it('the inbox renders the thread with nothing from the bridge interpreted', async () => {
    const page = await fd.app.inject({ method: 'GET', url: '/?as=1002' });
    expect(page.statusCode).toBe(200);
    const html = page.body;
    const threads = html.slice(html.indexOf('<section id="threads">'), html.indexOf('</section>'));
    expect(threads).not.toMatch(
      /<script|alert\(4\)|<img|<svg|<i>|<b>|<style|<iframe|onclick|javascript:|url\(x\)/,
    );
    expect(threads).toContain('#7 &lt;svg onload=alert(3)&gt;');
    expect(threads).toContain('data-color="grey"');
    expect(threads).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(threads).toContain('href="https://github.example.test/pull/7"');
    expect(html).toContain('<option value="1002" selected>');
  });

  it('renders the body as sanitized HTML and field links as links', async () => {
    const html = (await fd.app.inject({ method: 'GET', url: '/' })).body;
    const body = /<div class="body" data-part="body" data-hash="[\w-]+">([^]*?)<\/div>/.exec(
      html,
    )?.[1];
    expect(body).toBe(
      '<p>Hi there <strong>you</strong></p>\n<ul><li><a href="https://example.test/doc" ' +
        'rel="noopener noreferrer nofollow" target="_blank">doc</a></li></ul>',
    );
    // A field link without an http(s) target keeps its text only.
    expect(html).toContain(
      '<dt>Author</dt><dd><a rel="noopener noreferrer nofollow" target="_blank">x</a></dd>',
    );
  });

  it('pre-selects "You are" from ?as=, else from the cookie the page sets', async () => {
    const get = (url: string, cookie?: string) =>
      fd.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    const fromCookie = await get('/', 'other=1; flowdock-sandbox-user=1003');
    expect(fromCookie.body).toContain('<option value="1003" selected>');
    expect(fromCookie.body).toContain("document.cookie = 'flowdock-sandbox-user='");
    const queryWins = await get('/inbox?as=1001', 'flowdock-sandbox-user=1003');
    expect(queryWins.body).toContain('<option value="1001" selected>');
    expect(queryWins.body).not.toContain('<option value="1003" selected>');
    for (const bad of ['flowdock-sandbox-user=4242', 'flowdock-sandbox-user=%E0%A4%A']) {
      expect((await get('/', bad)).body).not.toMatch(/<option value="\d+" selected>/);
    }
  });

  it('serves the threads as JSON with per-part hashes, and 304 while nothing changed', async () => {
    const first = await fd.app.inject({ method: 'GET', url: '/inbox/threads' });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    const { threads } = first.json<{ threads: { key: string; hash: string; html: string }[] }>();
    expect(threads.map((t) => t.key)).toEqual([threadKey]);
    // The page starts with exactly the articles the JSON has: the first poll patches nothing.
    const page = (await fd.app.inject({ method: 'GET', url: '/' })).body;
    expect(page).toContain(threads[0].html);
    const etag = String(first.headers.etag);
    const same = await fd.app.inject({
      method: 'GET',
      url: '/inbox/threads',
      headers: { 'if-none-match': etag },
    });
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe('');

    // A new message that only changes the status: the status and timeline parts change, not the body.
    const source = fd.state.sources.get(Number(threadKey.split(':')[0]))!;
    const before = fd.state.threads.get(threadKey)!.thread;
    fd.state.recordMessage(source, {
      event: 'activity',
      title: 'closed',
      author: { name: 'octocat' },
      external_thread_id: 'hostile',
      thread: { ...before, status: { color: 'red', value: 'closed' } },
    });
    try {
      const changed = await fd.app.inject({
        method: 'GET',
        url: '/inbox/threads',
        headers: { 'if-none-match': etag },
      });
      expect(changed.statusCode).toBe(200);
      expect(changed.headers.etag).not.toBe(etag);
      const next = changed.json<{ threads: { hash: string; html: string }[] }>().threads[0];
      expect(next.hash).not.toBe(threads[0].hash);
      const parts = (html: string) =>
        Object.fromEntries(
          [...html.matchAll(/data-part="(\w+)" data-hash="([\w-]+)"/g)].map((m) => [m[1], m[2]]),
        );
      const was = parts(threads[0].html);
      const now = parts(next.html);
      expect(Object.keys(now)).toEqual([
        'head',
        'fields',
        'body',
        'actions',
        'summary',
        'timeline',
      ]);
      expect(now.head).not.toBe(was.head);
      expect(now.timeline).not.toBe(was.timeline);
      expect(now.summary).not.toBe(was.summary);
      expect([now.fields, now.body, now.actions]).toEqual([was.fields, was.body, was.actions]);
    } finally {
      fd.state.threads.get(threadKey)!.thread = before;
    }
  });

  it('an UpdateAction goes out as Flowdock sends it: agent, 30 s token for the user, body digest', async () => {
    target.answer({ status: 200, body: { ok: true } });
    const res = await click({ thread: threadKey, action: 0, name: 'Assign to me', user: 1002 });
    expect(res.json()).toEqual({ outcome: 'success', message: 'Assign to me: done', status: 200 });
    const sent = target.received.at(-1)!;
    const body = JSON.parse(sent.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      '@type': 'UpdateAction',
      name: 'Assign to me',
      agent: { '@type': 'Person', name: 'Bob Brown' },
      target: { urlTemplate: target.url },
    });
    const [header, claims, signature] = String(sent.headers['flowdock-token']).split('.');
    expect(createHmac('sha256', SECRET).update(`${header}.${claims}`).digest('base64url')).toBe(
      signature,
    );
    const payload = JSON.parse(Buffer.from(claims, 'base64url').toString()) as {
      sub: string;
      exp: number;
      signature: string;
    };
    expect(payload.sub).toBe('1002');
    expect(payload.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(30);
    expect(payload.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(20);
    expect(payload.signature).toBe(createHash('sha256').update(sent.body).digest('hex'));
  });

  it('reports a challenge with its link, and an error with its message', async () => {
    target.answer({
      status: 401,
      headers: {
        'www-authenticate': 'Flowdock-Token url=http://127.0.0.1:9/authorization?claim=abc',
      },
      body: { error: 'Authentication required' },
    });
    expect((await click({ thread: threadKey, action: 0, user: 1001 })).json()).toEqual({
      outcome: 'challenge',
      message: 'Link your account first:',
      url: 'http://127.0.0.1:9/authorization?claim=abc',
      status: 401,
    });
    // A challenge pointing anywhere but http(s) is not offered as a link.
    target.answer({
      status: 401,
      headers: { 'www-authenticate': 'Flowdock-Token url=javascript:alert(1)' },
      body: { message: 'nope' },
    });
    expect((await click({ thread: threadKey, action: 0, user: 1001 })).json()).toMatchObject({
      outcome: 'error',
    });
    target.answer({ status: 403, body: { statusCode: 403, message: 'You may not assign here' } });
    expect((await click({ thread: threadKey, action: 0, user: 1001 })).json()).toEqual({
      outcome: 'error',
      message: 'Assign to me failed (403): You may not assign here',
      status: 403,
    });
  });

  it('refuses clicks on unknown threads, ViewActions, unknown users; reports a dead endpoint', async () => {
    const sentBefore = target.received.length;
    const unknownThread = await click({ thread: 'nope', action: 0, user: 1001 });
    expect(unknownThread.statusCode).toBe(404);
    const viewAction = await click({ thread: threadKey, action: 1, user: 1001 });
    expect(viewAction.statusCode).toBe(400);
    const stale = await click({ thread: threadKey, action: 0, name: 'Close', user: 1001 });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ outcome: 'error' });
    const noUser = await click({ thread: threadKey, action: 0, user: 4242 });
    expect(noUser.statusCode).toBe(400);
    expect(noUser.json()).toEqual({ outcome: 'error', message: 'Choose who you are first' });
    const garbage = await fd.app.inject({
      method: 'POST',
      url: '/inbox/actions',
      headers: { 'content-type': 'application/json' },
      payload: '[1,2',
    });
    expect(garbage.statusCode).toBe(400);
    expect(target.received.length).toBe(sentBefore);

    await target.stop();
    const dead = await click({ thread: threadKey, action: 0, user: 1001 });
    expect(dead.statusCode).toBe(502);
    expect(dead.json()).toMatchObject({ outcome: 'error' });
    expect(dead.json().message).toMatch(/^The integration did not answer/);
  });
});

describe('GitHub simulator page', () => {
  let gh: GitHubSimulator;
  const repos = new GitHubReposState();
  const hooks: { event: string; body: Record<string, unknown> }[] = [];
  let receiver: FastifyInstance;

  beforeAll(async () => {
    receiver = Fastify();
    receiver.post('/hooks', async (request, reply) => {
      hooks.push({
        event: String(request.headers['x-github-event']),
        body: request.body as Record<string, unknown>,
      });
      return reply.code(202).send();
    });
    await receiver.listen({ port: 0, host: '127.0.0.1' });
    const { port } = receiver.server.address() as AddressInfo;
    repos.addRepo('acme/page', { permissions: { octocat: 'write', monalisa: 'read' } });
    repos.webhookTarget = { url: `http://127.0.0.1:${port}/hooks`, secret: SECRET };
    gh = await GitHubSimulator.start({ routes: [githubReposPageRoutes(repos)] });
  });
  afterAll(async () => {
    await gh?.stop();
    await receiver?.close();
  });

  const act = (form: Record<string, string>) =>
    gh.app.inject({
      method: 'POST',
      url: '/sandbox/items',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
  const note = (res: { headers: Record<string, unknown> }) =>
    new URL(String(res.headers.location), 'http://x').searchParams.get('note');

  it('opens, comments, labels, merges with webhooks; refuses what GitHub would refuse', async () => {
    const opened = await act({
      repo: 'acme/page',
      as: 'monalisa',
      op: 'open',
      kind: 'pull',
      title: '<b>Bold</b> move',
    });
    expect(opened.statusCode).toBe(303);
    expect(note(opened)).toBe('Opened #1 (webhook answered 202)');
    expect(hooks.at(-1)).toMatchObject({
      event: 'pull_request',
      body: { action: 'opened', pull_request: { number: 1, title: '<b>Bold</b> move' } },
    });

    const readOnly = await act({ repo: 'acme/page', as: 'monalisa', op: 'close', number: '1' });
    expect(note(readOnly)).toBe('Error: monalisa needs triage access to acme/page');
    expect(repos.repo('acme/page')!.items.get(1)!.state).toBe('open');

    expect(
      note(await act({ repo: 'acme/page', as: 'octocat', op: 'label', number: '1', text: 'bug' })),
    ).toMatch(/^Labelled #1 bug/);
    expect(hooks.at(-1)).toMatchObject({ body: { action: 'labeled', label: { name: 'bug' } } });
    expect(
      note(
        await act({ repo: 'acme/page', as: 'monalisa', op: 'comment', number: '1', text: 'LGTM' }),
      ),
    ).toMatch(/^Commented on #1/);
    expect(hooks.at(-1)).toMatchObject({
      event: 'issue_comment',
      body: { action: 'created', comment: { body: 'LGTM', user: { login: 'monalisa' } } },
    });
    expect(note(await act({ repo: 'acme/page', as: 'octocat', op: 'merge', number: '1' }))).toMatch(
      /^#1 merged/,
    );
    expect(hooks.at(-1)).toMatchObject({
      body: { action: 'closed', pull_request: { merged: true, state: 'closed' } },
    });
    expect(note(await act({ repo: 'acme/page', as: 'octocat', op: 'reopen', number: '1' }))).toBe(
      'Error: a merged pull request cannot be reopened',
    );
    expect(
      note(await act({ repo: 'acme/page', as: 'octocat', op: 'open', kind: 'pull', title: ' ' })),
    ).toBe('Error: a title is required');
    expect(note(await act({ repo: 'acme/nope', as: 'octocat', op: 'open', title: 'x' }))).toBe(
      'Error: unknown user or repository',
    );

    const page = await gh.app.inject({ method: 'GET', url: '/?as=octocat&note=%3Cscript%3E' });
    expect(page.body).toContain('&lt;b&gt;Bold&lt;/b&gt; move');
    expect(page.body).toContain('<p id="note">&lt;script&gt;</p>');
    expect(page.body).not.toMatch(/<b>Bold|<script>/);
  });
  it("links the webhooks' items, diffs, repository and users to the simulator's own pages", async () => {
    const opened = await act({
      repo: 'acme/page',
      as: 'octocat',
      op: 'open',
      kind: 'pull',
      title: 'Teach <the> widgets to count',
      body: 'Counts <i>up</i>.',
    });
    const number = Number(/Opened #(\d+)/.exec(note(opened) ?? '')?.[1]);
    const pr = hooks.at(-1)!.body.pull_request as Record<string, string> & {
      user: { html_url: string };
    };
    expect(pr.html_url).toBe(`${gh.url}/acme/page/pull/${number}`);
    expect(pr.diff_url).toBe(`${gh.url}/acme/page/pull/${number}.diff`);
    expect((hooks.at(-1)!.body.repository as { html_url: string }).html_url).toBe(
      `${gh.url}/acme/page`,
    );
    expect(pr.user.html_url).toBe(`${gh.url}/octocat`);

    const item = await fetch(pr.html_url);
    expect(item.status).toBe(200);
    const itemHtml = await item.text();
    expect(itemHtml).toContain(
      '<span class="item-title">Teach &lt;the&gt; widgets to count</span>',
    );
    expect(itemHtml).toContain('Counts &lt;i&gt;up&lt;/i&gt;.');
    expect(itemHtml).toContain(`href="/acme/page/pull/${number}/files?as=octocat"`);

    // What the bridge's "View diff" opens, and the raw diff of diff_url.
    const files = await fetch(`${pr.html_url}/files`);
    expect(files.status).toBe(200);
    expect(await files.text()).toContain(
      `<span class="add">+- Teach &lt;the&gt; widgets to count (#${number})</span>`,
    );
    const raw = await fetch(pr.diff_url);
    expect(raw.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await raw.text()).toContain(`+- Teach <the> widgets to count (#${number})\n`);

    // A pull request's issue URL redirects to it, as on GitHub.
    const asIssue = await fetch(`${gh.url}/acme/page/issues/${number}`, { redirect: 'manual' });
    expect(asIssue.status).toBe(302);
    expect(asIssue.headers.get('location')).toBe(`/acme/page/pull/${number}`);

    // A comment's html_url points at its anchor on the item page.
    await act({
      repo: 'acme/page',
      as: 'monalisa',
      op: 'comment',
      number: String(number),
      text: 'Nice',
    });
    const commentUrl = (hooks.at(-1)!.body.comment as { html_url: string }).html_url;
    expect(commentUrl).toMatch(
      new RegExp(`^${gh.url}/acme/page/pull/${number}#issuecomment-\\d+$`),
    );
    const anchor = new URL(commentUrl).hash.slice(1);
    expect(await (await fetch(commentUrl)).text()).toContain(`id="${anchor}"`);

    // Changes made on the item page come back to it.
    const closed = await act({
      repo: 'acme/page',
      as: 'octocat',
      op: 'close',
      number: String(number),
      back: `/acme/page/pull/${number}`,
    });
    expect(closed.headers.location).toMatch(
      new RegExp(`^/acme/page/pull/${number}\\?as=octocat&note=`),
    );
    const elsewhere = await act({
      repo: 'acme/page',
      as: 'octocat',
      op: 'reopen',
      number: String(number),
      back: '//evil.example/x',
    });
    expect(String(elsewhere.headers.location)).toMatch(/^\/\?as=octocat&note=/);

    const repoPage = await fetch(`${gh.url}/acme/page`);
    expect(await repoPage.text()).toContain('data-repo="acme/page"');
    const profile = await fetch(`${gh.url}/octocat`);
    expect(profile.status).toBe(200);
    expect(await profile.text()).toContain(`acme/page#${number}</a>`);
    for (const missing of [
      '/acme/nope',
      '/nobody',
      '/acme/page/pull/999',
      '/acme/page/pull/x/files',
    ]) {
      expect((await fetch(gh.url + missing)).status).toBe(404);
    }
  });
});

describe('demo start-up', () => {
  let blocker: Server;
  afterAll(() => new Promise((resolve) => blocker?.close(resolve)));

  it('fails with a message naming the port and its variable when a port is taken', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const started = startDemo({
      ports: { bridge: 0, flowdock: port, github: 0 },
      dataDir: join(tmpdir(), 'never-used'),
    });
    await expect(started).rejects.toThrow(PortInUseError);
    await expect(started).rejects.toThrow(
      `Port ${port} for the Flowdock simulator is not free (EADDRINUSE): stop what uses it or set DEMO_FLOWDOCK_PORT to another port.`,
    );
  });

  it('runs on the embedded database in ./data/demo of a fresh checkout (as root too)', async () => {
    // A checkout is world-readable (0755); ./data and ./data/demo do not exist yet.
    const checkout = mkdtempSync(join(tmpdir(), 'checkout-'));
    chmodSync(checkout, 0o755);
    const demo = await startDemo({
      ports: { bridge: 0, flowdock: 0, github: 0 },
      dataDir: join(checkout, 'data', 'demo'),
      freshDataDir: true,
    });
    try {
      expect((await fetch(`${demo.bridgeUrl}/health/ready`)).status).toBe(200);
      expect(existsSync(join(checkout, 'data', 'demo', 'postgres', 'PG_VERSION'))).toBe(true);
    } finally {
      await demo.stop();
      rmSync(checkout, { recursive: true, force: true });
    }
  }, 120_000);

  it('never deletes a data directory it did not create', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'not-the-demo-'));
    writeFileSync(join(dataDir, 'secrets.json'), '{}');
    const started = startDemo({
      ports: { bridge: 0, flowdock: 0, github: 0 },
      dataDir,
      freshDataDir: true,
    });
    await expect(started).rejects.toThrow(/holds data the demo did not create/);
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(true);
  });
});
