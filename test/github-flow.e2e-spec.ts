import { randomBytes, randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { signActionRequest } from '../sandbox/flowdock/flowdock-action-signer';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { SimSource } from '../sandbox/flowdock/flowdock-state';
import { GitHubReposState } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { githubRepoRoutes } from '../sandbox/github/repos.routes';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { LinkedAccountService } from '../src/auth/linked-account.service';
import { FlowdockDeliveryWorker } from '../src/delivery/flowdock-delivery.worker';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { deliveriesSettled, outcomeOf } from './support/webhook-deliveries';

const PUBLIC_URL = 'https://bridge.example.com';
const FLOWDOCK_SECRET = 'flowdock-client-secret-0123456789abcdef';
const WEBHOOK_SECRET = 'flow-webhook-secret-0123456789abcdef';

interface RenderedThread {
  title: string;
  body: string;
  status: { color: string; value: string };
  fields: { label: string; value: string }[];
  actions: { '@type': string; name: string; target?: { urlTemplate: string }; url?: string }[];
}

/**
 * The whole path through both simulators: GitHub webhook -> bridge -> Flowdock
 * thread, and a click in Flowdock -> bridge -> GitHub as the linked user.
 */
/** The action budget here: short, so that a slow GitHub is quick to show. */
const GITHUB_TIMEOUT_MS = 2_000;

describe('GitHub <-> Flowdock end to end', () => {
  let gh: GitHubSimulator;
  let repos: GitHubReposState;
  let fd: FlowdockSimulator;
  let t: TestApp;
  let worker: FlowdockDeliveryWorker;
  let accounts: LinkedAccountService;
  let db: DataSource;

  beforeAll(async () => {
    repos = new GitHubReposState();
    gh = await GitHubSimulator.start({ routes: [githubRepoRoutes(repos)] });
    fd = await FlowdockSimulator.start({ clientId: 'fd-client', clientSecret: FLOWDOCK_SECRET });
    t = await startTestApp(
      testEnvironment({
        PUBLIC_URL,
        FLOWDOCK_API_URL: fd.url,
        FLOWDOCK_CLIENT_ID: 'fd-client',
        FLOWDOCK_CLIENT_SECRET: FLOWDOCK_SECRET,
        GITHUB_URL: gh.url,
        GITHUB_API_URL: gh.url,
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        GITHUB_TIMEOUT_MS: String(GITHUB_TIMEOUT_MS),
      }),
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    repos.webhookTarget = {
      url: `http://127.0.0.1:${port}/github/webhooks`,
      secret: WEBHOOK_SECRET,
    };
    worker = t.app.get(FlowdockDeliveryWorker);
    accounts = t.app.get(LinkedAccountService);
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.app.close();
    await gh?.stop();
    await fd?.stop();
  });

  /** A repository of its own, subscribed to a fresh Flowdock source. */
  const subscribed = async () => {
    const name = `org${randomBytes(4).toString('hex')}/app`;
    const source = fd.state.addSource();
    const sub = await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: name, flowToken: source.flowToken });
    return { name, source, sourceId: sub.sourceId };
  };

  /** Sends a webhook and waits until the bridge has processed it (its 202 only says stored). */
  const webhook = async (event: string, payload: object) => {
    const signed = signedWebhook(WEBHOOK_SECRET, event, payload);
    const res = await t.app.inject({
      method: 'POST',
      url: '/github/webhooks',
      headers: signed.headers,
      payload: signed.body,
    });
    const processed = res.statusCode === 202 ? await outcomeOf(db, signed.deliveryId) : undefined;
    return { statusCode: res.statusCode, outcome: processed?.outcome };
  };

  const deliver = (sourceId: string) => worker.runOnce({ sourceIds: [sourceId] });
  const thread = (source: SimSource, id: string) => fd.state.thread(source.id, id);
  const messages = (source: SimSource) => fd.state.messages.filter((m) => m.sourceId === source.id);

  it('pull_request.opened becomes one thread with its status, fields and actions; later events update it', async () => {
    const { name, source, sourceId } = await subscribed();
    const opened = examplePayload('pull_request', 'opened');
    opened.repository.full_name = name;
    expect((await webhook('pull_request', opened)).statusCode).toBe(202);
    await deliver(sourceId);

    const id = `github:${name}:pull:2`;
    const first = thread(source, id)!;
    expect(first).toBeDefined();
    const rendered = first.thread as unknown as RenderedThread;
    expect(rendered.title).toContain('Update the README with new information.');
    expect(rendered.title).toContain('#2');
    expect(rendered.status).toEqual({ color: 'green', value: 'open' });
    const fields = Object.fromEntries(rendered.fields.map((f) => [f.label, f.value]));
    expect(fields.Repository).toContain(name);
    expect(fields.Author).toContain('Codertocat');
    expect(fields.Branches).toBe('changes → master');
    expect(rendered.actions.map((a) => a.name)).toEqual([
      'Assign to me',
      'Unassign me',
      'Close',
      'Approve',
      'Merge',
      'Refresh',
      'View diff',
      'Delivery log',
    ]);
    expect(rendered.actions[0].target?.urlTemplate).toBe(
      `${PUBLIC_URL}/flowdock/actions/${name}/pulls/2/assign-to-me`,
    );
    expect(messages(source)[0].body).toMatchObject({
      event: 'activity',
      title: 'opened pull request',
      author: { name: 'Codertocat' },
      external_thread_id: id,
    });

    const labeled = examplePayload('pull_request', 'labeled');
    labeled.repository.full_name = name;
    labeled.pull_request.updated_at = '2099-01-01T00:00:00Z';
    const merged = examplePayload('pull_request', 'closed');
    merged.repository.full_name = name;
    merged.pull_request.merged = true;
    merged.pull_request.updated_at = '2099-01-02T00:00:00Z';
    await webhook('pull_request', labeled);
    await webhook('pull_request', merged);
    await deliver(sourceId);

    const after = thread(source, id)!;
    expect(after.activities).toBe(3);
    const last = after.thread as unknown as RenderedThread;
    expect(last.status).toEqual({ color: 'purple', value: 'merged' });
    expect(last.actions.map((a) => a.name)).toEqual(['Refresh', 'View diff', 'Delivery log']);
    expect(Object.fromEntries(last.fields.map((f) => [f.label, f.value])).Labels).toBe('bug');
    expect(messages(source).map((m) => m.body.title)).toEqual([
      'opened pull request',
      'added label bug',
      'merged pull request',
    ]);
  });

  it('HTML in titles, bodies, labels and branch names reaches Flowdock escaped', async () => {
    const { name, source, sourceId } = await subscribed();
    const payload = examplePayload('pull_request', 'opened');
    payload.repository.full_name = name;
    payload.pull_request.title = '<img src=x onerror=alert(1)>';
    payload.pull_request.body = 'Hi <script>alert(2)</script> **there**';
    payload.pull_request.head.ref = 'feat/<b>bold</b>';
    // The label as a labeled event carries it, renamed.
    const label = examplePayload('pull_request', 'labeled').pull_request.labels[0];
    payload.pull_request.labels = [{ ...label, name: '<svg onload=alert(3)>' }];
    await webhook('pull_request', payload);
    await deliver(sourceId);
    const rendered = JSON.stringify(thread(source, `github:${name}:pull:2`)!.thread);
    expect(rendered).not.toMatch(/<img|<script|<svg|<b>/);
    expect(rendered).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(rendered).toContain('&lt;svg onload=alert(3)&gt;');
    expect(rendered).toContain('feat/&lt;b&gt;bold&lt;/b&gt;');
  });

  /** Links a Flowdock user to a GitHub user of the simulator, with a token the simulator issued. */
  const linked = async (login: string) => {
    const flowdockUserId = String(100000 + Math.floor(Math.random() * 1e6));
    const user = gh.state.userByLogin(login)!;
    const token = gh.state.issueToken(user.id, 'gh-client', ['repo']);
    await accounts.link({
      flowdockUserId,
      claimJti: randomUUID(),
      github: { id: user.id, login },
      tokens: { accessToken: token, scopes: ['repo'] },
    });
    return { flowdockUserId, token, user };
  };

  const click = (path: string, userId: string, name = 'Assign to me') => {
    const signed = signActionRequest(
      { name, urlTemplate: PUBLIC_URL + path },
      { clientSecret: FLOWDOCK_SECRET, userId },
    );
    return t.app.inject({
      method: 'POST',
      url: path,
      headers: signed.headers,
      payload: signed.payload,
    });
  };

  const repoWithItems = async () => {
    const { name, source, sourceId } = await subscribed();
    repos.addRepo(name, { permissions: { octocat: 'write', hubot: 'read' } });
    repos.addItem(name, { number: 5, kind: 'pull', title: 'Feature' });
    repos.addItem(name, { number: 6, kind: 'issue', title: 'Bug' });
    return { name, source, sourceId };
  };

  it.each([
    ['pulls', 5, 'pull'],
    ['issues', 6, 'issue'],
  ] as const)(
    'each action on %s as a linked user: done on GitHub as that user, thread updated once',
    async (kind, number, threadKind) => {
      const { name, source, sourceId } = await repoWithItems();
      const { flowdockUserId } = await linked('octocat');
      const base = `/flowdock/actions/${name}/${kind}/${number}`;
      const id = `github:${name}:${threadKind}:${number}`;
      const noun = kind === 'pulls' ? 'pull request' : 'issue';

      const steps = [
        ['assign-to-me', 'Assign to me', `assigned @octocat`],
        ['unassign-me', 'Unassign me', `unassigned @octocat`],
        ['close', 'Close', `closed ${noun}`],
        ['reopen', 'Reopen', `reopened ${noun}`],
      ] as const;
      for (const [index, [action, label]] of steps.entries()) {
        const res = await click(`${base}/${action}`, flowdockUserId, label);
        expect(res.statusCode).toBe(200);
        const call = repos.calls.at(-1)!;
        expect(call.login).toBe('octocat');
        await deliveriesSettled(db, name, index + 1); // GitHub's webhook for the change has been processed
      }
      const item = repos.repo(name)!.items.get(number)!;
      expect(item).toMatchObject({ state: 'open', assignees: [] });

      await deliver(sourceId);
      expect(messages(source).map((m) => m.body.title)).toEqual(steps.map((s) => s[2]));
      expect(thread(source, id)!.activities).toBe(4);
      expect((thread(source, id)!.thread as unknown as RenderedThread).status.value).toBe('open');
    },
  );

  it('an unlinked user gets the challenge and nothing happens on GitHub', async () => {
    const { name } = await repoWithItems();
    const before = repos.calls.length;
    const res = await click(`/flowdock/actions/${name}/issues/6/close`, '424242', 'Close');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: 'Authentication required' });
    expect(res.headers['www-authenticate']).toMatch(
      new RegExp(`^Flowdock-Token url=${PUBLIC_URL}/authorization\\?claim=`),
    );
    expect(repos.calls.length).toBe(before);
  });

  it('no permission -> 403 with a message naming the repository; the item is unchanged', async () => {
    const { name } = await repoWithItems();
    const { flowdockUserId } = await linked('hubot');
    const res = await click(`/flowdock/actions/${name}/pulls/5/close`, flowdockUserId, 'Close');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: `You don't have write access to ${name} (GitHub account @hubot)`,
    });
    expect(repos.repo(name)!.items.get(5)!.state).toBe('open');
  });

  it('a revoked GitHub token -> link removed and the challenge', async () => {
    const { name } = await repoWithItems();
    const { flowdockUserId, user } = await linked('monalisa');
    gh.state.revokeUser(user.id);
    const res = await click(`/flowdock/actions/${name}/issues/6/close`, flowdockUserId, 'Close');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Flowdock-Token url=/);
    expect(await accounts.findLink(flowdockUserId)).toBeNull();
  });

  it('GitHub slower than the budget -> 504 saying so; GitHub completes it later, once, and the thread follows', async () => {
    const { name } = await repoWithItems();
    const { flowdockUserId } = await linked('octocat');
    const path = `/flowdock/actions/${name}/issues/6/close`;
    const signed = signActionRequest(
      { name: 'Close', urlTemplate: PUBLIC_URL + path },
      { clientSecret: FLOWDOCK_SECRET, userId: flowdockUserId },
    );
    const send = () =>
      t.app.inject({ method: 'POST', url: path, headers: signed.headers, payload: signed.payload });
    repos.delayMs = GITHUB_TIMEOUT_MS * 2;
    let res;
    try {
      res = await send();
    } finally {
      repos.delayMs = undefined;
    }
    expect(res.statusCode).toBe(504);
    expect(res.json().message).toBe(
      `GitHub did not answer within ${GITHUB_TIMEOUT_MS / 1000} s. The change may still happen there: look at ${name}#6 before clicking again`,
    );
    // GitHub finishes the change on its own; its webhook brings the thread along.
    await deliveriesSettled(db, name, 1);
    expect(repos.repo(name)!.items.get(6)!.state).toBe('closed');
    const [row] = await db.query<{ snapshot: { state: string } }[]>(
      `SELECT snapshot FROM github_thread WHERE repository = $1 AND number = 6`,
      [name],
    );
    expect(row.snapshot.state).toBe('closed');
    // Flowdock retrying the same request: refused, nothing sent to GitHub again.
    expect((await send()).statusCode).toBe(401);
    const writes = repos.calls.filter(
      (c) => c.path === `/repos/${name}/issues/6` && c.method !== 'GET',
    );
    expect(writes).toEqual([expect.objectContaining({ method: 'PATCH', login: 'octocat' })]);
  });

  it('a bad action name -> 400 before anything else', async () => {
    const { name } = await repoWithItems();
    const { flowdockUserId } = await linked('octocat');
    const res = await click(`/flowdock/actions/${name}/issues/6/rebase`, flowdockUserId, 'Rebase');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain(
      'action must be one of assign-to-me, unassign-me, close, reopen, approve, merge, refresh',
    );
    // Approve and Merge exist for pull requests only.
    const merge = await click(`/flowdock/actions/${name}/issues/6/merge`, flowdockUserId, 'Merge');
    expect(merge.statusCode).toBe(400);
    expect(merge.json().message).toBe('merge is for pull requests only');
  });

  it('an item number or repository GitHub would not write -> 400, nothing done on GitHub', async () => {
    const { name } = await repoWithItems();
    const [owner, repo] = name.split('/');
    const { flowdockUserId } = await linked('octocat');
    const before = repos.calls.length;
    // Number() would read these as #16, #1000, #6 and #6.
    for (const number of [
      '0x10',
      '1e3',
      '%20%206',
      '6.0',
      '06',
      '0',
      '99999999999',
      '2147483648',
    ]) {
      const res = await click(
        `/flowdock/actions/${name}/issues/${number}/close`,
        flowdockUserId,
        'Close',
      );
      expect({ number, status: res.statusCode }).toEqual({ number, status: 400 });
      expect(res.json().message).toContain('number must be a positive integer in decimal digits');
    }
    for (const [o, r, problem] of [
      ['-acme', repo, 'owner is not a GitHub account name'],
      ['ac--me', repo, 'owner is not a GitHub account name'],
      [owner, 'wid%20gets', 'repo is not a GitHub repository name'],
    ]) {
      const res = await click(
        `/flowdock/actions/${o}/${r}/issues/6/close`,
        flowdockUserId,
        'Close',
      );
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toContain(problem);
    }
    expect(repos.calls.length).toBe(before);
    expect(repos.repo(name)!.items.get(6)!.state).toBe('open');
  });

  it('github_app_authorization.revoked removes the links of that GitHub user', async () => {
    const { flowdockUserId, user } = await linked('hubot');
    const payload = examplePayload('github_app_authorization', 'revoked');
    payload.sender.id = user.id;
    expect(await webhook('github_app_authorization', payload)).toEqual({
      statusCode: 202,
      outcome: 'authorization-revoked',
    });
    expect(await accounts.findLink(flowdockUserId)).toBeNull();
  });
});
