import { Octokit } from '@octokit/rest';
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { FastifyInstance } from 'fastify';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { GitHubReposState, SimRepo } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { emitItemEvent, githubRepoRoutes } from '../sandbox/github/repos.routes';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { waitUntil } from '../sandbox/world/processes';
import { TcpProxy } from './support/tcp-proxy';
import { cli, CliRun } from './support/cli';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { outcomeOf } from './support/webhook-deliveries';

const SECRET = 'redeliver-webhook-secret-0123456789abcdef';

/**
 * `npm run cli -- webhooks redeliver` against the GitHub simulator, whose hooks
 * deliver to a bridge behind a TCP proxy: stopping the proxy is the bridge
 * being down (GitHub records status_code 0), starting it again brings it back.
 */
describe('npm run cli -- webhooks redeliver', () => {
  let t: TestApp;
  let db: DataSource;
  let sim: GitHubSimulator;
  let repos: GitHubReposState;
  let proxy: TcpProxy;
  let publicUrl: string;
  let token: string;
  /** Every token the runs were given: none may appear in their output. */
  const tokens: string[] = [];
  const runs: CliRun[] = [];

  beforeAll(async () => {
    repos = new GitHubReposState();
    sim = await GitHubSimulator.start({ routes: [githubRepoRoutes(repos)] });
    t = await startTestApp(
      testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_API_URL: sim.url }),
    );
    db = t.app.get(DataSource);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    proxy = new TcpProxy('127.0.0.1', port);
    await proxy.start();
    publicUrl = `http://127.0.0.1:${proxy.port}`;
    token = sim.state.issueToken(sim.state.userByLogin('monalisa')!.id, 'cli', ['admin:repo_hook']);
    tokens.push(token);
  });
  afterAll(async () => {
    await proxy?.stop();
    await t?.app.close();
    await sim?.stop();
  });
  afterEach(() => {
    for (const run of runs.splice(0)) {
      for (const secret of tokens) expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  const redeliver = async (args: string[], env: Record<string, string> = {}) => {
    const run = await cli(['webhooks', 'redeliver', ...args], '', {
      GITHUB_API_URL: sim.url,
      PUBLIC_URL: publicUrl,
      GITHUB_ADMIN_TOKEN: token,
      ...env,
    });
    runs.push(run);
    return run;
  };

  /** A fresh repository (monalisa admin) with a hook to the bridge and a subscription. */
  const setup = async () => {
    const name = `redeliver${randomBytes(4).toString('hex')}/repo`;
    const repo = repos.addRepo(name, { permissions: { monalisa: 'admin' } });
    const hook = repos.hooks.addRepoHook(name, {
      url: `${publicUrl}/github/webhooks`,
      secret: SECRET,
    });
    await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: name, flowToken: `flow-${randomUUID()}` });
    return { name, repo, hook };
  };

  /** Opens issue `number`; the guid GitHub sent it with (whatever the bridge answered). */
  const open = async (repo: SimRepo, number: number): Promise<string> => {
    const item = repos.addItem(`${repo.owner}/${repo.name}`, { number, kind: 'issue' });
    await emitItemEvent(repos, repo, item, 'monalisa', 'opened').then(
      (res) => res?.arrayBuffer(),
      () => undefined,
    );
    return repos.hooks.deliveries.at(-1)!.guid;
  };

  /** Opens issue `number` while the bridge is down. */
  const openWhileDown = async (repo: SimRepo, number: number): Promise<string> => {
    await proxy.stop();
    try {
      return await open(repo, number);
    } finally {
      await proxy.start();
    }
  };

  const attemptsOf = (guid: string) => repos.hooks.deliveries.filter((d) => d.guid === guid);
  const rowsOf = async (guid: string) =>
    (
      await db.query<{ n: number }[]>(
        'SELECT count(*)::int AS n FROM github_webhook_delivery WHERE delivery_id = $1',
        [guid],
      )
    )[0].n;
  const messagesOf = async (name: string, number: number) =>
    (
      await db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM flowdock_message m JOIN flowdock_thread t ON t.id = m.thread_id
         WHERE t.external_thread_id = $1`,
        [`github:${name}:issue:${number}`],
      )
    )[0].n;

  it('redelivers what the bridge missed while down, once; leaves what it recorded; a second run asks for nothing', async () => {
    const { name, repo, hook } = await setup();
    const seen = await open(repo, 1);
    expect(await outcomeOf(db, seen)).toMatchObject({ outcome: 'published', messages: 1 });

    const missed = await openWhileDown(repo, 2);
    expect(attemptsOf(missed)).toEqual([
      expect.objectContaining({
        status_code: 0,
        redelivery: false,
        event: 'issues',
        action: 'opened',
        repository_id: repo.id,
      }),
    ]);
    expect(await rowsOf(missed)).toBe(0);

    const first = await redeliver(['--repo', name]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${missed}\\tissues\\topened\\t\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\tfailed: 0 \\(.+\\)$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^Asked GitHub to redeliver 1 of the 2 deliveries to hook ${hook.id} of ${name} since \\S+; the bridge recorded 1\\.`,
        ),
      ),
    ]);

    // GitHub sends it again, with the same guid: processed once, one message.
    expect(await outcomeOf(db, missed)).toMatchObject({ outcome: 'published', messages: 1 });
    await waitUntil('the redelivery recorded by GitHub', () =>
      attemptsOf(missed).some((d) => d.redelivery && d.status === 'OK'),
    );
    expect(attemptsOf(missed).map((d) => [d.redelivery, d.status_code])).toEqual([
      [false, 0],
      [true, 202],
    ]);
    expect(await rowsOf(missed)).toBe(1);
    expect(await messagesOf(name, 2)).toBe(1);
    expect(attemptsOf(seen)).toHaveLength(1);

    const second = await redeliver(['--repo', name]);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toMatch(
      new RegExp(
        `^Nothing to redeliver: the bridge recorded all 2 deliveries to hook ${hook.id} of ${name} since \\S+\\.\\n$`,
      ),
    );
    expect(attemptsOf(missed)).toHaveLength(2);
    expect(await rowsOf(missed)).toBe(1);
    expect(await messagesOf(name, 2)).toBe(1);
    expect(await messagesOf(name, 1)).toBe(1);
  }, 90_000);

  it('--dry-run lists the same and asks for nothing; --since leaves older deliveries out', async () => {
    const { name, repo, hook } = await setup();
    const old = await openWhileDown(repo, 1);
    attemptsOf(old)[0].delivered_at = new Date(Date.now() - 2 * 3_600_000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    const missed = await openWhileDown(repo, 2);

    // GitHub saw this one succeed, but what answered was not the bridge (a stray proxy).
    const stray: FastifyInstance = Fastify();
    stray.post('/github/webhooks', async (_req, reply) => reply.code(202).send({}));
    await stray.listen({ port: 0, host: '127.0.0.1' });
    hook.url = `http://127.0.0.1:${(stray.server.address() as AddressInfo).port}/github/webhooks`;
    const swallowed = await open(repo, 3);
    hook.url = `${publicUrl}/github/webhooks`;
    await stray.close();
    expect(attemptsOf(swallowed)[0]).toMatchObject({ status: 'OK', status_code: 202 });

    const calls = repos.calls.length;
    const dry = await redeliver(['--repo', name, '--dry-run']);
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${old}\\tissues\\topened\\t\\S+\\tfailed: 0 \\(`)),
      expect.stringMatching(new RegExp(`^${missed}\\tissues\\topened\\t\\S+\\tfailed: 0 \\(`)),
      expect.stringMatching(new RegExp(`^${swallowed}\\tissues\\topened\\t\\S+\\tnever recorded$`)),
      expect.stringMatching(
        /^Dry run: would ask GitHub to redeliver 3 of the 3 deliveries to .+; the bridge recorded 0\. Asked for nothing\.$/,
      ),
    ]);
    const recent = await redeliver(['--repo', name, '--dry-run', '--since', '1h']);
    expect(recent.stdout).not.toContain(old);
    expect(recent.stdout).toContain(missed);
    expect(recent.stdout).toMatch(/would ask GitHub to redeliver 2 of the 2 deliveries/);

    // Nothing asked: no attempt, no POST, nothing in the bridge.
    expect([old, missed, swallowed].flatMap(attemptsOf).filter((d) => d.redelivery)).toEqual([]);
    expect(repos.calls.slice(calls).filter((c) => c.method !== 'GET')).toEqual([]);
    for (const guid of [old, missed, swallowed]) expect(await rowsOf(guid)).toBe(0);

    const real = await redeliver(['--repo', name, '--since', '1h']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain(`${swallowed}\tissues\topened\t`);
    expect(await outcomeOf(db, swallowed)).toMatchObject({ outcome: 'published' });
    expect(await outcomeOf(db, missed)).toMatchObject({ outcome: 'published' });
    expect(await rowsOf(old)).toBe(0);
  }, 90_000);

  it('an organization hook (--org) is recovered the same way', async () => {
    const org = `redeliverorg${randomBytes(4).toString('hex')}`;
    const name = `${org}/app`;
    const repo = repos.addRepo(name);
    const hook = repos.hooks.addOrgHook(org, {
      url: `${publicUrl}/github/webhooks`,
      secret: SECRET,
      owners: ['hubot'],
    });
    await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: name, flowToken: `flow-${randomUUID()}` });
    const orgToken = sim.state.issueToken(sim.state.userByLogin('hubot')!.id, 'cli', [
      'admin:org_hook',
    ]);
    tokens.push(orgToken);
    const missed = await openWhileDown(repo, 5);

    const run = await redeliver(['--org', org], { GITHUB_ADMIN_TOKEN: orgToken });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`${missed}\tissues\topened\t`);
    expect(run.stdout).toContain(`to hook ${hook.id} of ${org} since`);
    expect(await outcomeOf(db, missed)).toMatchObject({ outcome: 'published', messages: 1 });

    // The repository token has no admin:org_hook: GitHub hides the organization's hooks.
    const refused = await redeliver(['--org', org]);
    expect(refused).toMatchObject({ code: 2, stdout: '' });
    expect(refused.stderr).toBe(
      `error: GitHub answered 404 to list the hooks of organization ${org}: ` +
        'GITHUB_ADMIN_TOKEN lacks the admin:org_hook scope (it has: admin:repo_hook)\n',
    );
  }, 90_000);

  it('chooses the hook by PUBLIC_URL; several or none is a usage error listing them', async () => {
    const { name, hook } = await setup();
    const twin = repos.hooks.addRepoHook(name, { url: hook.url, secret: SECRET });
    repos.hooks.addRepoHook(name, { url: 'https://ci.example.test/hook', secret: 'x' });

    const several = await redeliver(['--repo', name]);
    expect(several).toMatchObject({ code: 1, stdout: '' });
    expect(several.stderr).toBe(
      `error: 2 hooks of ${name} deliver to this bridge; choose one with --hook-id: ` +
        `${hook.id} ${hook.url}, ${twin.id} ${twin.url}\n`,
    );

    const none = await redeliver(['--repo', name], { PUBLIC_URL: 'http://elsewhere.test' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /^error: no hook of .+ delivers to http:\/\/elsewhere\.test\/github\/webhooks \(PUBLIC_URL\); choose one with --hook-id: \d+ http.+, \d+ http.+, \d+ https:\/\/ci\.example\.test\/hook\n$/,
    );

    const chosen = await redeliver(['--repo', name, '--hook-id', String(twin.id)]);
    expect(chosen).toMatchObject({ code: 0, stderr: '' });
    expect(chosen.stdout).toMatch(
      new RegExp(
        `^Nothing to redeliver: no deliveries to hook ${twin.id} of ${name} since \\S+\\.\\n$`,
      ),
    );

    const unknown = await redeliver(['--repo', name, '--hook-id', '999999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^error: GitHub answered 404 to list the deliveries of hook 999999/,
    );
  }, 90_000);

  it('without GITHUB_ADMIN_TOKEN, with a bad one or one lacking the scope: a clear error, never the token', async () => {
    const { name } = await setup();
    const missing = await redeliver(['--repo', name], { GITHUB_ADMIN_TOKEN: '' });
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: GITHUB_ADMIN_TOKEN is not set: the command needs a GitHub token with the ' +
        `admin:repo_hook scope of a user with admin rights on ${name}\n`,
    });

    const revoked = `ghp_revoked_${randomBytes(12).toString('hex')}`;
    tokens.push(revoked);
    const bad = await redeliver(['--repo', name], { GITHUB_ADMIN_TOKEN: revoked });
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toBe(
      `error: GitHub refused GITHUB_ADMIN_TOKEN (401) to list the hooks of ${name}: ` +
        'the token is unknown, expired or revoked\n',
    );

    const narrow = sim.state.issueToken(sim.state.userByLogin('monalisa')!.id, 'cli', ['read:org']);
    tokens.push(narrow);
    const unscoped = await redeliver(['--repo', name], { GITHUB_ADMIN_TOKEN: narrow });
    expect(unscoped.stderr).toBe(
      `error: GitHub answered 404 to list the hooks of ${name}: ` +
        'GITHUB_ADMIN_TOKEN lacks the admin:repo_hook scope (it has: read:org)\n',
    );
  }, 90_000);

  it('usage errors exit 1', async () => {
    const cases: [string[], string][] = [
      [['--repo', 'nope'], 'error: --repo nope is not a repository: use owner/repo\n'],
      [
        ['--repo', 'a/b', '--since', '6x'],
        'error: --since 6x is not a duration: use 30m, 6h or 2d\n',
      ],
      [['--repo', 'a/b', '--hook-id', '0x1'], 'error: --hook-id 0x1 is not a hook id\n'],
      [[], 'error: whose hook? give --repo owner/repo or --org org\n'],
      [
        ['--repo', 'a/b', '--org', 'a'],
        'error: --repo and --org name different hooks: give one of them\n',
      ],
      [
        ['--repo', 'a/b', '--since', '30d'],
        'error: --since reaches beyond the delivery log (DELIVERY_RETENTION_DAYS=14): ' +
          'older deliveries the bridge processed cannot be told from missed ones\n',
      ],
    ];
    for (const [args, stderr] of cases) {
      expect({ args, ...(await redeliver(args)) }).toEqual({ args, code: 1, stdout: '', stderr });
    }
  }, 120_000);
});

/** The simulator's delivery list pages as GitHub's does: newest first, `cursor` in the Link header. */
describe('GitHub simulator: hook deliveries', () => {
  let sim: GitHubSimulator;
  let repos: GitHubReposState;
  let receiver: FastifyInstance;

  beforeAll(async () => {
    receiver = Fastify();
    receiver.post('/hook', async (_req, reply) => reply.code(502).send('bad gateway'));
    await receiver.listen({ port: 0, host: '127.0.0.1' });
    repos = new GitHubReposState();
    sim = await GitHubSimulator.start({ routes: [githubRepoRoutes(repos)] });
  });
  afterAll(async () => {
    await sim?.stop();
    await receiver?.close();
  });

  it('lists, pages, shows and redelivers; 401 without a token, 404 for unknown hooks', async () => {
    const { port } = receiver.server.address() as AddressInfo;
    const repo = repos.addRepo('pages/repo', { permissions: { octocat: 'admin', hubot: 'write' } });
    const hook = repos.hooks.addRepoHook('pages/repo', {
      url: `http://127.0.0.1:${port}/hook`,
      secret: SECRET,
    });
    for (let n = 1; n <= 5; n++) {
      const item = repos.addItem('pages/repo', { number: n, kind: 'issue' });
      const res = await emitItemEvent(repos, repo, item, 'octocat', 'opened');
      expect(res?.status).toBe(502);
    }
    const as = (login: string, scopes = ['admin:repo_hook']) =>
      new Octokit({
        auth: sim.state.issueToken(sim.state.userByLogin(login)!.id, 'test', scopes),
        baseUrl: sim.url,
        log: { debug() {}, info() {}, warn() {}, error() {} },
      });
    const octokit = as('octocat');
    const params = { owner: 'pages', repo: 'repo', hook_id: hook.id };

    const { data: hooks } = await octokit.rest.repos.listWebhooks({ owner: 'pages', repo: 'repo' });
    expect(hooks).toEqual([
      expect.objectContaining({
        id: hook.id,
        name: 'web',
        active: true,
        events: ['*'],
        config: expect.objectContaining({ url: hook.url, content_type: 'json' }),
      }),
    ]);

    const first = await octokit.rest.repos.listWebhookDeliveries({ ...params, per_page: 2 });
    expect(first.headers.link).toMatch(
      /^<http:\/\/127\.0\.0\.1:\d+\/repos\/pages\/repo\/hooks\/\d+\/deliveries\?per_page=2&cursor=v1_\d+>; rel="next"$/,
    );
    const all = await octokit.paginate(octokit.rest.repos.listWebhookDeliveries, {
      ...params,
      per_page: 2,
    });
    expect(all.map((d) => d.id)).toEqual(repos.hooks.deliveries.map((d) => d.id).reverse());
    expect(all[0]).toMatchObject({
      status: 'Invalid HTTP Response: 502',
      status_code: 502,
      event: 'issues',
      action: 'opened',
      redelivery: false,
      installation_id: null,
      repository_id: repo.id,
    });

    const { data: one } = await octokit.rest.repos.getWebhookDelivery({
      ...params,
      delivery_id: all[0].id,
    });
    expect(one.request.headers).toMatchObject({ 'x-github-delivery': all[0].guid });
    expect(one.response.payload).toBe('bad gateway');

    const asked = await octokit.rest.repos.redeliverWebhookDelivery({
      ...params,
      delivery_id: all[4].id,
    });
    expect(asked.status).toBe(202);
    await waitUntil('the redelivery', () => repos.hooks.deliveries[5]?.status_code === 502);
    const again = repos.hooks.deliveries[5];
    expect(again).toMatchObject({ guid: all[4].guid, redelivery: true, status_code: 502 });
    expect(again.request.body).toBe(repos.hooks.deliveries[0].request.body);

    const status = async (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (e: { status: number }) => e.status,
      );
    const anonymous = new Octokit({ baseUrl: sim.url, log: octokit.log });
    expect(await status(anonymous.rest.repos.listWebhooks({ owner: 'pages', repo: 'repo' }))).toBe(
      401,
    );
    expect(
      await status(octokit.rest.repos.listWebhookDeliveries({ ...params, hook_id: 999 })),
    ).toBe(404);
    // Write access is not enough, nor is a token without a hook scope.
    expect(
      await status(as('hubot').rest.repos.listWebhooks({ owner: 'pages', repo: 'repo' })),
    ).toBe(404);
    expect(
      await status(
        as('octocat', ['read:org']).rest.repos.listWebhooks({ owner: 'pages', repo: 'repo' }),
      ),
    ).toBe(404);
  });
});
