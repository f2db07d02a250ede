import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { SimFlow, SimSource, SimThread } from '../sandbox/flowdock/flowdock-state';
import { issueJson, pullJson, repoJson, userJson } from '../sandbox/github/repos.routes';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { FlowStreams } from '../src/conversations/flow-streams';
import { ThreadReplies } from '../src/conversations/thread-replies.service';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { AuthWorld, startAuthWorld } from './support/auth-world';
import { TestBrowser } from './support/auth-browser';
import { startTestApp, TestApp } from './support/test-app';
import { freshDatabase, FreshDatabase as TestDatabase } from '../sandbox/world/databases';

const SECRET = 'conversations-webhook-secret-0123456789';

/** Polls `check` until it returns a value, or fails after `timeoutMs` (a hung bridge, not a speed limit). */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Replies in the bridge's threads, end to end over loopback: the bridge
 * (its own database, listening to the flow with a stream token, delivering
 * on its own), the Flowdock simulator's streaming API and users' replies, and
 * the GitHub simulator's comments with their signed issue_comment webhooks.
 */
describe('conversations: Flowdock replies become GitHub comments', () => {
  let database: TestDatabase;
  let w: AuthWorld;
  let db: DataSource;
  let flow: SimFlow;
  let source: SimSource;
  let sourceId: string;
  let streamToken: string;
  const owner = `talk${randomBytes(3).toString('hex')}`;
  const repository = `${owner}/widgets`;

  beforeAll(async () => {
    // Its own database: this bridge listens to streams and delivers by itself, which
    // the other test files' bridges (one shared database) must not see.
    database = await freshDatabase(process.env.E2E_DATABASE_URL!);
    w = await startAuthWorld({
      env: {
        DATABASE_URL: database.url,
        GITHUB_WEBHOOK_SECRET: SECRET,
        FLOWDOCK_STREAM_CHECK_MS: '200',
        FLOWDOCK_DELIVERY_POLL_MS: '100',
      },
    });
    db = w.t.app.get(DataSource);
    await w.t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = w.t.app.getHttpServer().address() as AddressInfo;
    w.repos.webhookTarget = { url: `http://127.0.0.1:${port}/github/webhooks`, secret: SECRET };

    flow = w.flowdock.state.addFlow({
      id: `f-${randomBytes(8).toString('hex')}`,
      organization: owner,
      flow: 'talk',
      name: 'Talk',
    });
    source = w.flowdock.state.addSource(flow.id, 'GitHub');
    w.repos.addRepo(repository, {
      permissions: {
        [w.ghUsers.octocat.login]: 'write',
        [w.ghUsers.hubot.login]: 'write',
      },
    });
    for (const number of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      w.repos.addItem(repository, { number, kind: number % 2 === 0 ? 'pull' : 'issue' });
    }
    const subscription = await w.t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: repository, flowToken: source.flowToken });
    sourceId = subscription.sourceId;
    // Carol, a member of the flow, lends her token to read its stream.
    streamToken = w.flowdock.state.issueTokens(
      w.fdUsers.carol.id,
      w.flowdock.state.clientId,
      'flow',
    ).access_token;
    await w.t.app
      .get(FlowdockSourceService)
      .setStreamGrant(sourceId, { accessToken: streamToken }, { flow: `${owner}/talk` });
    await until('the bridge listening to the flow', () => w.flowdock.state.openStreams > 0);
  });

  afterAll(async () => {
    try {
      await w?.expectNoLeaks();
    } finally {
      await w?.stop();
      await database?.drop();
    }
  });

  /** The issue or pull request `number` opened on GitHub: its thread, once Flowdock has it and the bridge knows its id. */
  async function openThread(number: number): Promise<SimThread> {
    const repo = w.repos.repo(repository)!;
    const item = repo.items.get(number)!;
    const web = w.repos.webUrl;
    const payload =
      item.kind === 'issue'
        ? { ...examplePayload('issues', 'opened'), issue: issueJson(web, repo, item) }
        : {
            ...examplePayload('pull_request', 'opened'),
            number,
            pull_request: pullJson(web, repo, item),
          };
    await w.repos.emit(repo, item.kind === 'issue' ? 'issues' : 'pull_request', {
      ...payload,
      action: 'opened',
      repository: repoJson(web, repo),
      sender: userJson(item.author, web),
    });
    const external = `github:${repository}:${item.kind}:${number}`;
    const thread = await until(`the thread of #${number} in Flowdock`, () =>
      w.flowdock.state.thread(source.id, external),
    );
    await until(`the bridge to learn the thread id of #${number}`, async () => {
      const [row] = await db.query(
        `SELECT flowdock_thread_id FROM flowdock_thread WHERE external_thread_id = $1`,
        [external],
      );
      return row?.flowdock_thread_id === thread.id;
    });
    return thread;
  }

  /** A person writes in the flow (in `thread`, when given) through Flowdock's REST API; the message id. */
  async function write(
    user: keyof AuthWorld['fdUsers'],
    content: string,
    thread?: SimThread,
  ): Promise<number> {
    const token = w.flowdock.state.issueTokens(
      w.fdUsers[user].id,
      w.flowdock.state.clientId,
      'flow',
    ).access_token;
    const response = await fetch(`${w.flowdock.url}/flows/${owner}/talk/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-flowdock-wait-for-message': 'true',
      },
      body: JSON.stringify({
        event: 'message',
        content,
        ...(thread ? { thread_id: thread.id } : {}),
      }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { id: number }).id;
  }

  const comments = (number: number) => w.repos.repo(repository)!.items.get(number)!.comments;

  /** What the bridge posted into a Flowdock thread: its activities and discussions, and its notices (chat). */
  const posted = (thread: SimThread) =>
    w.flowdock.state.messages.filter(
      (m) =>
        m.sourceId === source.id &&
        (m.body.thread_id === thread.id || m.body.external_thread_id === thread.externalThreadId),
    );
  const notices = (thread: SimThread) => posted(thread).filter((m) => m.body.event === 'message');

  /** The reply as the bridge recorded it, once it has. */
  const replyRow = (messageId: number) =>
    until(`the reply ${messageId} recorded`, async () => {
      const [row] = await db.query(
        `SELECT outcome, comment_id, content, reason FROM flowdock_reply WHERE message_id = $1`,
        [String(messageId)],
      );
      return row as
        | { outcome: string; comment_id: string | null; content: string | null; reason: string }
        | undefined;
    });

  /** The issue_comment webhooks of item `number`, once `count` are processed, with their outcomes. */
  const commentDeliveries = (number: number, count: number) =>
    until(`${count} issue_comment deliveries of #${number} processed`, async () => {
      const rows: { outcome: string; reason: string | null; messages: number }[] = await db.query(
        `SELECT outcome, reason, messages FROM github_webhook_delivery
         WHERE event = 'issue_comment' AND repository = $1 AND item_number = $2
           AND processed_at IS NOT NULL
         ORDER BY seq`,
        [repository, number],
      );
      return rows.length >= count ? rows : undefined;
    });

  /** The last stream event the bridge handled (its cursor). */
  const cursor = async () => {
    const [row] = await db.query(`SELECT last_event_id FROM flowdock_stream WHERE flow = $1`, [
      `${owner}/talk`,
    ]);
    return Number(row?.last_event_id ?? 0);
  };
  const handledUpTo = (messageId: number) =>
    until(`the stream handled up to ${messageId}`, async () => (await cursor()) >= messageId);

  /** Walks a challenge link: Flowdock sign-in as `signInAs`, GitHub authorization as `authorizeAs`. */
  async function walk(url: string, signInAs: string, authorizeAs: number) {
    const browser: TestBrowser = w.browser();
    const start = await browser.get(url);
    const fdBack = await browser.submitConsent(await browser.get(start.location!), {
      user_id: signInAs,
      decision: 'approve',
    });
    const toGitHub = await browser.get(fdBack.location!);
    const ghBack = await browser.submitConsent(await browser.get(toGitHub.location!), {
      user_id: String(authorizeAs),
      decision: 'approve',
    });
    return browser.get(ghBack.location!);
  }

  describe('a linked replier', () => {
    beforeAll(async () => {
      const { page } = await w.link(
        w.browser(),
        w.fd('alice'),
        w.fd('alice'),
        w.ghUsers.octocat.id,
      );
      expect(page.status).toBe(200);
    });

    it('gets a GitHub comment made with their own token, text unchanged, and the thread no second message', async () => {
      const thread = await openThread(1);
      const before = posted(thread).length;
      const text = 'Ship it <b>now</b> & *later* — @hubot\n\n```js\nx < y\n```';
      const id = await write('alice', text, thread);

      const row = await replyRow(id);
      expect(row).toMatchObject({ outcome: 'commented', content: null });
      const [comment] = comments(1);
      expect(comments(1)).toHaveLength(1);
      expect(comment).toMatchObject({ author: w.ghUsers.octocat.login, body: text });
      expect(row.comment_id).toBe(String(comment.id));
      const call = w.repos.calls.find(
        (c) => c.method === 'POST' && c.path === `/repos/${repository}/issues/1/comments`,
      );
      expect(call).toMatchObject({ login: w.ghUsers.octocat.login, status: 201 });

      // GitHub's issue_comment.created for it is the echo: state only, nothing posted.
      const [delivery] = await commentDeliveries(1, 1);
      expect(delivery).toMatchObject({ outcome: 'state-only', messages: 0 });
      expect(delivery.reason).toMatch(/echo/);
      const queued: { title: string }[] = await db.query(
        `SELECT m.event->>'title' AS title FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
         WHERE t.external_thread_id = $1 ORDER BY m.id`,
        [thread.externalThreadId],
      );
      expect(queued.map((r) => r.title)).toEqual(['opened issue']);
      expect(posted(thread)).toHaveLength(before);
      expect(notices(thread)).toEqual([]);
    });

    it('a comment made on GitHub itself still comes to the thread (only the bridge’s own are echoes)', async () => {
      const thread = await openThread(3);
      const repo = w.repos.repo(repository)!;
      const response = await fetch(`${w.github.url}/repos/${repository}/issues/3/comments`, {
        method: 'POST',
        headers: {
          authorization: `token ${w.github.state.issueToken(w.ghUsers.octocat.id, 'other', ['repo'])}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ body: 'written on GitHub' }),
      });
      expect(response.status).toBe(201);
      expect(repo.items.get(3)!.comments).toHaveLength(1);
      await until('the discussion in the thread', () =>
        posted(thread).some((m) => m.body.event === 'discussion'),
      );
    });
  });

  describe('an unlinked replier', () => {
    it('gets one notice with their link for two replies, and both are posted once they link', async () => {
      const thread = await openThread(2);
      const first = await write('bob', 'first thought', thread);
      const second = await write('bob', 'second thought', thread);
      expect(await replyRow(first)).toMatchObject({
        outcome: 'awaiting-link',
        content: 'first thought',
      });
      expect(await replyRow(second)).toMatchObject({ outcome: 'awaiting-link' });

      const [notice, ...more] = notices(thread);
      expect(more).toEqual([]);
      const content = String(notice.body.content);
      expect(content).toContain('not posted to GitHub');
      expect(content).toContain(`${repository}#2`);
      const url = /(http:\/\/bridge\.test\/authorization\?claim=\S+)/.exec(content)?.[1];
      expect(url).toBeDefined();
      expect(notice.body.thread_id).toBe(thread.id);
      expect(comments(2)).toEqual([]);

      // The notice (user "0", the bridge's own) is heard on the stream and left alone.
      await handledUpTo(notice.id);
      expect(notices(thread)).toHaveLength(1);

      const page = await walk(url!, w.fd('bob'), w.ghUsers.hubot.id);
      expect(page.status).toBe(200);
      expect(page.body).toContain(
        `2 replies in Flowdock were posted on GitHub as @${w.ghUsers.hubot.login}`,
      );
      expect(comments(2).map((c) => [c.author, c.body])).toEqual([
        [w.ghUsers.hubot.login, 'first thought'],
        [w.ghUsers.hubot.login, 'second thought'],
      ]);
      expect(await replyRow(first)).toMatchObject({ outcome: 'commented', content: null });
      const deliveries = await commentDeliveries(2, 2);
      expect(deliveries.map((d) => [d.outcome, d.messages])).toEqual([
        ['state-only', 0],
        ['state-only', 0],
      ]);

      // Linked now: the next reply goes straight to GitHub, without a notice.
      const third = await write('bob', 'third thought', thread);
      expect(await replyRow(third)).toMatchObject({ outcome: 'commented' });
      expect(comments(2).map((c) => c.body)).toEqual([
        'first thought',
        'second thought',
        'third thought',
      ]);
      expect(notices(thread)).toHaveLength(1);
      // Linking again posts nothing twice.
      expect(await w.t.app.get(ThreadReplies).postAwaiting(w.fd('bob'))).toBeUndefined();
      expect(comments(2)).toHaveLength(3);

      const metrics = (await w.t.app.inject({ method: 'GET', url: '/metrics' })).body;
      const count = (outcome: string) =>
        Number(
          new RegExp(`^bridge_flowdock_replies_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(
            metrics,
          )?.[1],
        );
      expect(count('awaiting_link')).toBe(2);
      // Alice's reply before, bob's two once linked, and his third.
      expect(count('commented')).toBe(4);
    });
  });

  it('ignores the bridge’s own posts, other integrations, messages outside threads and other threads', async () => {
    const thread = await openThread(5);
    const other = w.flowdock.state.addSource(flow.id, 'Jira');
    const post = (body: object) =>
      fetch(`${w.flowdock.url}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-flowdock-wait-for-message': 'true' },
        body: JSON.stringify({ flow_token: other.flowToken, ...body }),
      }).then(async (r) => (await r.json()) as { id: number; thread_id?: string });
    // Another integration's thread, and a person's reply in it.
    const foreign = await post({
      event: 'activity',
      author: { name: 'jira' },
      title: 'created the ticket',
      external_thread_id: 'jira:1',
      thread: { title: 'A ticket' },
    });
    const foreignThread = w.flowdock.state.threadById(foreign.thread_id!)!;
    const inForeign = await write('alice', 'a reply in a Jira thread', foreignThread);
    // An integration's chat message, and a person's chat outside threads.
    await post({ event: 'message', content: 'deploy finished' });
    const outside = await write('alice', 'just chatting');
    const last = await write('carol', 'in our thread, unlinked: the one counted', thread);

    await handledUpTo(last);
    const rows: { message_id: string }[] = await db.query(
      `SELECT message_id FROM flowdock_reply WHERE message_id = ANY($1)`,
      [[inForeign, outside, last].map(String)],
    );
    expect(rows.map((r) => Number(r.message_id))).toEqual([last]);
    expect(comments(5)).toEqual([]);
    // The bridge's own activity in the thread (user "0") did not count as a reply either.
    expect(posted(thread).filter((m) => m.body.event === 'activity')).toHaveLength(1);
    expect(notices(thread)).toHaveLength(1);
  });

  it('loses no reply when the stream is dropped or refused for a while: it resumes with Last-Event-ID', async () => {
    const thread = await openThread(7);
    // Refused for a while (503), and every open stream dropped: replies keep coming meanwhile.
    w.flowdock.state.streamFault = { status: 503, message: 'maintenance' };
    expect(w.flowdock.state.dropStreams()).toBeGreaterThan(0);
    const during = [
      await write('alice', 'written while the stream was down', thread),
      await write('alice', 'and another one', thread),
    ];
    expect(w.flowdock.state.openStreams).toBe(0);
    // The bridge keeps trying (and is refused) before the stream is back.
    const flowName = `${owner}/talk`;
    await until('a refused reconnect', () =>
      w.t.logs.some(
        (l) => l.includes(`The stream of ${flowName} failed (1x)`) && l.includes('503'),
      ),
    );
    w.flowdock.state.streamFault = undefined;
    for (const id of during) expect(await replyRow(id)).toMatchObject({ outcome: 'commented' });

    // Dropped mid-way again, right after a reply.
    const before = await write('alice', 'just before the drop', thread);
    w.flowdock.state.dropStreams();
    const after = await write('alice', 'just after the drop', thread);
    for (const id of [before, after])
      expect(await replyRow(id)).toMatchObject({ outcome: 'commented' });
    await until('reconnected', () => w.flowdock.state.openStreams > 0);
    expect(comments(7).map((c) => c.body)).toEqual([
      'written while the stream was down',
      'and another one',
      'just before the drop',
      'just after the drop',
    ]);
    expect(
      w.t.logs.filter((l) => l.includes(`Listening to ${flowName} again`)).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('a refused token with a refresh token is refreshed, and listening goes on', async () => {
    const sources = w.t.app.get(FlowdockSourceService);
    const grant = w.flowdock.state.issueTokens(
      w.fdUsers.carol.id,
      w.flowdock.state.clientId,
      'flow offline_access',
    );
    await sources.setStreamGrant(sourceId, {
      accessToken: grant.access_token,
      refreshToken: grant.refresh_token,
      expiresAt: new Date(Date.now() + grant.expires_in * 1000),
    });
    // Reconnecting with the new grant, which is then revoked: the next connection is refused.
    w.flowdock.state.dropStreams();
    await until('listening again', () => w.flowdock.state.openStreams > 0);
    w.flowdock.state.accessTokens.get(grant.access_token)!.revoked = true;
    w.flowdock.state.dropStreams();
    const refreshed = await until('the grant refreshed', async () => {
      const now = await sources.streamGrant(sourceId);
      return now && now.accessToken !== grant.access_token ? now : undefined;
    });
    expect(refreshed.refreshToken).not.toBe(grant.refresh_token);
    expect(w.flowdock.state.accessTokens.get(refreshed.accessToken)?.revoked).toBe(false);
    const thread = await openThread(6);
    expect(await replyRow(await write('alice', 'after the refresh', thread))).toMatchObject({
      outcome: 'commented',
    });
    expect((await sources.list()).find((s) => s.id === sourceId)?.stream.state).toBe('token');
    const logs = w.t.logs.join('\n');
    for (const secret of [grant.access_token, grant.refresh_token, refreshed.accessToken]) {
      expect(logs).not.toContain(secret);
    }
  });

  it('a 401 on the stream marks the source as needing a new token, logs once without the token, and stops', async () => {
    const sources = w.t.app.get(FlowdockSourceService);
    // The token is revoked and its refresh token no longer accepted (the person left the flow).
    const current = (await sources.streamGrant(sourceId))!;
    w.flowdock.state.accessTokens.get(current.accessToken)!.revoked = true;
    w.flowdock.state.refreshTokens.delete(current.refreshToken!);
    w.flowdock.state.dropStreams();
    const refused = await until('the source marked', async () => {
      const found = (await sources.list()).find((s) => s.id === sourceId);
      return found?.stream.state === 'refused' ? found.stream : undefined;
    });
    expect(refused.reason).toMatch(/401/);
    // Several checks (200 ms apart) later: still one line, no stream, no new attempt.
    const openAfter = w.flowdock.state.openStreams;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const lines = w.t.logs.filter((line) => line.includes('refused the token'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(sourceId);
    expect(w.t.logs.join('\n')).not.toContain(streamToken);
    expect(w.t.logs.join('\n')).not.toContain(current.accessToken);
    expect(openAfter).toBe(0);
    expect(w.flowdock.state.openStreams).toBe(0);

    // A new token: listening again, and what was written meanwhile is heard.
    const thread = await openThread(8);
    const meanwhile = await write('alice', 'written while nobody listened', thread);
    const fresh = w.flowdock.state.issueTokens(
      w.fdUsers.carol.id,
      w.flowdock.state.clientId,
      'flow',
    ).access_token;
    await sources.setStreamGrant(sourceId, { accessToken: fresh });
    expect(await replyRow(meanwhile)).toMatchObject({ outcome: 'commented' });
    expect((await sources.list()).find((s) => s.id === sourceId)?.stream.state).toBe('token');
  });

  it('prunes: a reply that waited a day for its author loses its text; old records go', async () => {
    const thread = await openThread(3);
    const waiting = await write('carol', 'carol has not linked', thread);
    const done = await write('alice', 'an old reply', thread);
    expect(await replyRow(waiting)).toMatchObject({ outcome: 'awaiting-link' });
    expect(await replyRow(done)).toMatchObject({ outcome: 'commented' });
    await db.query(
      `UPDATE flowdock_reply SET created_at = now() - interval '25 hours' WHERE message_id = $1`,
      [String(waiting)],
    );
    await db.query(
      `UPDATE flowdock_reply SET updated_at = now() - interval '15 days' WHERE message_id = $1`,
      [String(done)],
    );
    expect(await w.t.app.get(ThreadReplies).prune(14)).toBeGreaterThanOrEqual(1);
    expect(await replyRow(waiting)).toMatchObject({ outcome: 'expired', content: null });
    const gone: unknown[] = await db.query(`SELECT 1 FROM flowdock_reply WHERE message_id = $1`, [
      String(done),
    ]);
    expect(gone).toEqual([]);
  });

  it('a reply GitHub refuses is recorded with the reason, and the replier is told in the thread', async () => {
    // Carol links to monalisa, who may read the repository but not comment on a locked issue.
    const { page } = await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.monalisa.id);
    expect(page.status).toBe(200);
    w.repos.repo(repository)!.items.get(9)!.locked = true;
    const thread = await openThread(9);
    const id = await write('carol', 'on a locked issue', thread);
    const row = await replyRow(id);
    expect(row).toMatchObject({ outcome: 'failed', comment_id: null });
    expect(row.reason).toContain(`@${w.ghUsers.monalisa.login}`);
    expect(row.reason).toContain('locked');
    expect(comments(9)).toEqual([]);
    const told = await until('the replier told', () => notices(thread)[0]);
    expect(String(told.body.content)).toMatch(/^Your reply was not posted to GitHub: .*locked/);
    expect(notices(thread)).toHaveLength(1);
  });

  describe('two bridges on one database', () => {
    let second: TestApp;
    let thread: SimThread;
    beforeAll(async () => {
      second = await startTestApp(w.env);
    });
    afterAll(() => second?.app.close());

    it('post each reply once: one listens (lease), and a replayed event acts once (message id)', async () => {
      thread = await openThread(4);
      const ids: number[] = [];
      for (const text of ['one', 'two', 'three']) ids.push(await write('alice', text, thread));
      for (const id of ids) expect(await replyRow(id)).toMatchObject({ outcome: 'commented' });
      expect(comments(4).map((c) => c.body)).toEqual(['one', 'two', 'three']);
      // One stream for the flow, held by one of the two.
      expect(w.flowdock.state.openStreams).toBe(1);

      // The same event handed to the other bridge (a replay, an overlapping lease) posts nothing.
      const event = w.flowdock.state.userMessages.find((m) => m.id === ids[0])!;
      const replayed = JSON.stringify(w.flowdock.state.userMessageJson(event));
      for (const app of [w.t.app, second.app]) {
        expect(
          await app
            .get(ThreadReplies)
            .handle(`${owner}/talk`, { id: String(ids[0]), data: replayed }),
        ).toBe('duplicate');
      }
      expect(comments(4)).toHaveLength(3);
    });

    it('when the listening bridge stops, the other takes the flow over once its lease expires, and resumes', async () => {
      // The first loses its lease as a crashed process would leave it (another owner, 1 s left),
      // and stops listening (it still takes GitHub's webhooks).
      await db.query(
        `UPDATE flowdock_stream SET lease_owner = 'crashed-replica', lease_until = now() + interval '1 second'
         WHERE flow = $1`,
        [`${owner}/talk`],
      );
      await w.t.app.get(FlowStreams).beforeApplicationShutdown();
      await until('nobody listening', () => w.flowdock.state.openStreams === 0);
      const meanwhile = await write('alice', 'while the lease ran out', thread);
      expect(await replyRow(meanwhile)).toMatchObject({ outcome: 'commented' });
      await until('the second bridge holding the lease', async () => {
        const [lease] = await db.query(`SELECT lease_owner FROM flowdock_stream WHERE flow = $1`, [
          `${owner}/talk`,
        ]);
        return lease.lease_owner === second.app.get(FlowStreams).owner;
      });
      expect(second.app.get(FlowStreams).listening()).toEqual([`${owner}/talk`]);
      expect(w.t.app.get(FlowStreams).listening()).toEqual([]);
      expect(w.flowdock.state.openStreams).toBe(1);
      expect(comments(4).map((c) => c.body)).toEqual([
        'one',
        'two',
        'three',
        'while the lease ran out',
      ]);
    });
  });

  describe('the default flow (FLOWDOCK_FLOW, FLOWDOCK_STREAM_TOKEN)', () => {
    let other: TestDatabase;
    const apps: TestApp[] = [];
    beforeAll(async () => {
      // Its own database: a bridge with a default source takes every repository without a subscription.
      other = await freshDatabase(process.env.E2E_DATABASE_URL!);
    });
    afterAll(async () => {
      for (const app of apps) await app.app.close();
      await other?.drop();
    });

    it('gives the default source its flow and stream token; without a token nothing listens', async () => {
      const defaultSource = w.flowdock.state.addSource(flow.id, 'Default');
      const env = {
        ...w.env,
        DATABASE_URL: other.url,
        FLOWDOCK_FLOW_TOKEN: defaultSource.flowToken,
        FLOWDOCK_FLOW: `${owner}/talk`,
      };
      const quiet = await startTestApp(env);
      apps.push(quiet);
      const sources = quiet.app.get(FlowdockSourceService);
      const [before] = await sources.list();
      expect(before.stream).toEqual({ state: 'none' });
      // Several checks later, nothing listens.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(quiet.app.get(FlowStreams).listening()).toEqual([]);
      await quiet.app.close();
      apps.pop();

      const token = w.flowdock.state.issueTokens(
        w.fdUsers.carol.id,
        w.flowdock.state.clientId,
        'flow',
      ).access_token;
      const listening = await startTestApp({ ...env, FLOWDOCK_STREAM_TOKEN: token });
      apps.push(listening);
      const [after] = await listening.app.get(FlowdockSourceService).list();
      expect(after).toMatchObject({ flow: `${owner}/talk`, stream: { state: 'token' } });
      expect(
        (await listening.app.get(FlowdockSourceService).streamGrant(after.id))?.accessToken,
      ).toBe(token);
      await until('listening to the default flow', () =>
        listening.app.get(FlowStreams).listening().includes(`${owner}/talk`),
      );
      const stored = JSON.stringify(
        await listening.app
          .get(DataSource)
          .query(`SELECT row_to_json(s)::text FROM flowdock_source s`),
      );
      expect(stored).not.toContain(token);
    });
  });
});
