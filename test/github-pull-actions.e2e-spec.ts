import { HttpException } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { randomBytes, randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { GitHubReposState, SimItem } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { githubRepoRoutes } from '../sandbox/github/repos.routes';
import { ThreadSnapshot } from '../src/threads/thread-snapshot';
import { ThreadAction } from '../src/threads/thread-actions';
import { GitHubActionsService } from '../src/actions/github-actions.service';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { deliveriesSettled } from './support/webhook-deliveries';

const SECRET = 'pull-actions-webhook-secret-0123456789ab';

/**
 * Approve, Merge and Refresh as the clicking user, against the GitHub
 * simulator (which sends the webhooks GitHub would send back).
 */
describe('Approve, Merge and Refresh (GitHub simulator)', () => {
  let t: TestApp;
  let sim: GitHubSimulator;
  let repos: GitHubReposState;
  let actions: GitHubActionsService;
  let db: DataSource;

  beforeAll(async () => {
    repos = new GitHubReposState();
    sim = await GitHubSimulator.start({ routes: [githubRepoRoutes(repos)] });
    t = await startTestApp(
      testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_API_URL: sim.url }),
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    repos.webhookTarget = { url: `http://127.0.0.1:${port}/github/webhooks`, secret: SECRET };
    actions = t.app.get(GitHubActionsService);
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.app.close();
    await sim?.stop();
  });

  const octokitAs = (login: string) =>
    new Octokit({
      auth: sim.state.issueToken(sim.state.userByLogin(login)!.id, 'client', ['repo']),
      baseUrl: sim.url,
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });

  /** A repository where monalisa (admin) opened pull request #7; octocat writes, hubot reads. */
  const setup = async (
    item: Partial<SimItem> = {},
    mergeMethods?: ('merge' | 'squash' | 'rebase')[],
  ) => {
    const name = `org${randomBytes(4).toString('hex')}/repo`;
    repos.addRepo(name, {
      permissions: { monalisa: 'admin', octocat: 'write', hubot: 'read' },
      mergeMethods,
    });
    const pr = repos.addItem(name, { number: 7, kind: 'pull', author: 'monalisa', ...item });
    await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: name, flowToken: `flow-${randomUUID()}`, drafts: 'announce' });
    const [owner, repo] = name.split('/');
    return { name, owner, repo, pr };
  };

  const act = (login: string, name: string, action: ThreadAction, kind = 'pulls' as const) => {
    const [owner, repo] = name.split('/');
    return actions
      .perform(octokitAs(login), login, { owner, repo, kind, number: 7 }, action)
      .then(({ snapshot }) => snapshot);
  };
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: unknown) =>
        error instanceof HttpException
          ? { status: error.getStatus(), message: error.message }
          : error,
    );

  const titles = async (repository: string) =>
    (
      await db.query<{ title: string }[]>(
        `SELECT m.event->>'title' AS title FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
         WHERE t.external_thread_id LIKE 'github:' || $1 || ':%' ORDER BY m.id`,
        [repository],
      )
    ).map((r) => r.title);
  const thread = async (repository: string) =>
    (
      await db.query<{ snapshot: ThreadSnapshot }[]>(
        `SELECT snapshot FROM github_thread WHERE repository = $1 AND number = 7`,
        [repository],
      )
    )[0]?.snapshot;

  it('approve: a review as the user; the thread shows the verdict once (GitHub’s webhook is its echo)', async () => {
    const { name } = await setup();
    const snapshot = await act('octocat', name, 'approve');
    expect(snapshot.reviewers).toEqual([{ login: 'octocat', state: 'approved' }]);
    expect(repos.repo(name)!.items.get(7)!.reviews).toMatchObject([
      { user: 'octocat', state: 'APPROVED' },
    ]);
    await deliveriesSettled(db, name, 1);
    expect(await titles(name)).toEqual(['approved pull request']);
    // Approving again changes nothing on the thread.
    await act('octocat', name, 'approve');
    await deliveriesSettled(db, name, 2);
    expect(await titles(name)).toEqual(['approved pull request']);
  });

  it('approve: refused readably on one’s own pull request and on a closed one', async () => {
    const { name } = await setup();
    expect(await refusal(act('monalisa', name, 'approve'))).toEqual({
      status: 422,
      message: expect.stringContaining('Can not approve your own pull request'),
    });
    const closed = await setup({ state: 'closed' });
    expect(await refusal(act('octocat', closed.name, 'approve'))).toMatchObject({ status: 422 });
    expect(await titles(name)).toEqual([]);
  });

  it('merge: with the method the repository allows; the thread turns merged, announced once', async () => {
    const { name, pr } = await setup({}, ['squash', 'rebase']);
    const snapshot = await act('octocat', name, 'merge');
    expect(snapshot.state).toBe('merged');
    expect(pr.merged).toBe(true);
    const merge = repos.calls.find((c) => c.method === 'PUT');
    expect(merge).toMatchObject({ login: 'octocat', status: 200 });
    await deliveriesSettled(db, name, 1);
    expect(await titles(name)).toEqual(['merged pull request']);
    expect((await thread(name))?.state).toBe('merged');
  });

  it('merge: GitHub’s refusals come back as 409 with the reason; nothing changes', async () => {
    const protectedPr = await setup({ mergeBlockedBy: 'Required status check "ci" is failing.' });
    expect(await refusal(act('octocat', protectedPr.name, 'merge'))).toEqual({
      status: 409,
      message: expect.stringContaining('Required status check "ci" is failing.'),
    });
    const conflict = await setup({ mergeable: false });
    expect(await refusal(act('octocat', conflict.name, 'merge'))).toEqual({
      status: 409,
      message: expect.stringContaining('has conflicts'),
    });
    const readOnly = await setup();
    expect(await refusal(act('hubot', readOnly.name, 'merge'))).toMatchObject({ status: 403 });
    for (const { pr } of [protectedPr, conflict, readOnly]) expect(pr.merged).toBe(false);
  });

  it('refresh: a thread that missed webhooks is rewritten from GitHub; an unchanged one says nothing', async () => {
    const { name, pr } = await setup();
    await act('octocat', name, 'approve');
    await deliveriesSettled(db, name, 1);
    // Changes on GitHub whose webhooks never arrived.
    const target = repos.webhookTarget;
    repos.webhookTarget = undefined;
    pr.title = 'Renamed on GitHub';
    pr.labels = ['ready'];
    pr.updatedAt = repos.tick();
    repos.webhookTarget = target;

    const refreshed = await act('hubot', name, 'refresh');
    expect(refreshed).toMatchObject({
      title: 'Renamed on GitHub',
      labels: ['ready'],
      reviewers: [{ login: 'octocat', state: 'approved' }],
    });
    expect(await titles(name)).toEqual([
      'approved pull request',
      'refreshed the thread from GitHub',
    ]);
    await act('hubot', name, 'refresh');
    expect(await titles(name)).toHaveLength(2);
  });
});
