import { HttpException } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { randomBytes, randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { GitHubReposState } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { githubRepoRoutes } from '../sandbox/github/repos.routes';
import {
  GitHubActionsService,
  GitHubUnauthorizedError,
} from '../src/actions/github-actions.service';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { deliveriesSettled } from './support/webhook-deliveries';

const SECRET = 'actions-webhook-secret-0123456789abcdef';

/**
 * GitHubActionsService against the GitHub simulator over loopback, with an
 * Octokit holding the user's own token (what LinkedAccountService.octokitFor
 * hands out), and the simulator's webhooks going back to the bridge.
 */
describe('GitHubActionsService (GitHub simulator)', () => {
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

  const octokitAs = (login: string) => {
    const user = sim.state.userByLogin(login)!;
    const token = sim.state.issueToken(user.id, 'client', ['repo']);
    return {
      token,
      octokit: new Octokit({
        auth: token,
        baseUrl: sim.url,
        log: { debug() {}, info() {}, warn() {}, error() {} },
      }),
    };
  };

  /** A fresh organisation repository: monalisa admin, octocat write, hubot read only. */
  const setup = async () => {
    const name = `org${randomBytes(4).toString('hex')}/repo`;
    repos.addRepo(name, { permissions: { monalisa: 'admin', octocat: 'write', hubot: 'read' } });
    repos.addItem(name, { number: 7, kind: 'pull', title: 'Add <b>things</b>' });
    repos.addItem(name, { number: 8, kind: 'issue', title: 'Broken', author: 'monalisa' });
    await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: name, flowToken: `flow-${randomUUID()}` });
    const [owner, repo] = name.split('/');
    return { name, owner, repo };
  };

  const titles = async (repository: string) =>
    (
      await db.query<{ title: string }[]>(
        `SELECT m.event->>'title' AS title FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
         WHERE t.external_thread_id LIKE 'github:' || $1 || ':%' ORDER BY m.id`,
        [repository],
      )
    ).map((r) => r.title);

  it.each(['pulls', 'issues'] as const)(
    'assign-to-me / unassign-me on %s run with the user’s token and update the thread once',
    async (kind) => {
      const { name, owner, repo } = await setup();
      const number = kind === 'pulls' ? 7 : 8;
      const { token, octokit } = octokitAs('octocat');

      const { snapshot: assigned } = await actions.perform(
        octokit,
        'octocat',
        { owner, repo, kind, number },
        'assign-to-me',
        'req-1',
      );
      expect(assigned.assignees).toEqual(['octocat']);
      expect(repos.repo(name)!.items.get(number)!.assignees).toEqual(['octocat']);
      const call = repos.calls.find(
        (c) => c.path === `/repos/${owner}/${repo}/issues/${number}/assignees`,
      );
      expect(call).toMatchObject({ method: 'POST', login: 'octocat', status: 201 });
      expect(sim.state.authenticate(`token ${token}`)?.user.login).toBe('octocat');

      // GitHub's "assigned" webhook arrives: the thread is updated, no second activity.
      await deliveriesSettled(db, name, 1);
      expect(await titles(name)).toEqual(['assigned @octocat']);

      const { snapshot: unassigned } = await actions.perform(
        octokit,
        'octocat',
        { owner, repo, kind, number },
        'unassign-me',
      );
      expect(unassigned.assignees).toEqual([]);
      await deliveriesSettled(db, name, 2);
      expect(await titles(name)).toEqual(['assigned @octocat', 'unassigned @octocat']);
    },
  );

  it.each(['pulls', 'issues'] as const)('close / reopen on %s', async (kind) => {
    const { name, owner, repo } = await setup();
    const number = kind === 'pulls' ? 7 : 8;
    const noun = kind === 'pulls' ? 'pull request' : 'issue';
    const { octokit } = octokitAs('octocat');

    const { snapshot: closed } = await actions.perform(
      octokit,
      'octocat',
      { owner, repo, kind, number },
      'close',
    );
    expect(closed.state).toBe('closed');
    expect(repos.repo(name)!.items.get(number)!.state).toBe('closed');
    await deliveriesSettled(db, name, 1);
    const { snapshot: reopened } = await actions.perform(
      octokit,
      'octocat',
      { owner, repo, kind, number },
      'reopen',
    );
    expect(reopened.state).toBe('open');
    await deliveriesSettled(db, name, 2);
    expect(await titles(name)).toEqual([`closed ${noun}`, `reopened ${noun}`]);
    const thread = await db.query<{ snapshot: { state: string } }[]>(
      `SELECT snapshot FROM github_thread WHERE repository = $1`,
      [name],
    );
    expect(thread[0].snapshot.state).toBe('open');
  });

  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpException);
    return {
      status: (error as HttpException).getStatus(),
      message: (error as HttpException).message,
    };
  };

  it('a user with read access cannot close: 403 naming the repository, nothing changes', async () => {
    const { name, owner, repo } = await setup();
    const { octokit } = octokitAs('hubot');
    const refused = await refusal(
      actions.perform(octokit, 'hubot', { owner, repo, kind: 'pulls', number: 7 }, 'close'),
    );
    expect(refused).toEqual({
      status: 403,
      message: `You don't have write access to ${name} (GitHub account @hubot)`,
    });
    expect(repos.repo(name)!.items.get(7)!.state).toBe('open');
    expect(await titles(name)).toEqual([]);
  });

  it('GitHub silently not assigning a read-only user becomes a 403 with the reason', async () => {
    const { name, owner, repo } = await setup();
    const { octokit } = octokitAs('hubot');
    const refused = await refusal(
      actions.perform(octokit, 'hubot', { owner, repo, kind: 'issues', number: 8 }, 'assign-to-me'),
    );
    expect(refused.status).toBe(403);
    expect(refused.message).toContain(`only people with triage or write access to ${name}`);
  });

  it('an unknown item -> 404; reopening a merged pull request -> 422 with GitHub’s reason', async () => {
    const { name, owner, repo } = await setup();
    const { octokit } = octokitAs('octocat');
    const missing = await refusal(
      actions.perform(octokit, 'octocat', { owner, repo, kind: 'issues', number: 999 }, 'close'),
    );
    expect(missing).toEqual({
      status: 404,
      message: `Issue ${name}#999 was not found on GitHub, or @octocat cannot see it`,
    });
    Object.assign(repos.repo(name)!.items.get(7)!, { state: 'closed', merged: true });
    const merged = await refusal(
      actions.perform(octokit, 'octocat', { owner, repo, kind: 'pulls', number: 7 }, 'reopen'),
    );
    expect(merged.status).toBe(422);
    expect(merged.message).toContain('The pull request has been merged');
  });

  it('a revoked token -> GitHubUnauthorizedError (the caller unlinks and challenges)', async () => {
    const { owner, repo } = await setup();
    const { octokit } = octokitAs('monalisa');
    sim.state.revokeUser(sim.state.userByLogin('monalisa')!.id);
    await expect(
      actions.perform(octokit, 'monalisa', { owner, repo, kind: 'issues', number: 8 }, 'close'),
    ).rejects.toBeInstanceOf(GitHubUnauthorizedError);
  });

  it('GitHub failing -> 502 with a message', async () => {
    const { owner, repo } = await setup();
    const { octokit } = octokitAs('octocat');
    repos.failWith = 503;
    try {
      const refused = await refusal(
        actions.perform(octokit, 'octocat', { owner, repo, kind: 'issues', number: 8 }, 'close'),
      );
      expect(refused).toEqual({
        status: 502,
        message: 'GitHub is unavailable right now (HTTP 503); try again in a moment',
      });
    } finally {
      repos.failWith = undefined;
    }
  });
});
