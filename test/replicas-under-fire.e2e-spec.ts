import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { benchEnvironment } from '../bench/bench-setup';
import { linkUsers } from '../sandbox/world/link-users';
import { signActionRequest, SignedAction } from '../sandbox/flowdock/flowdock-action-signer';
import { FlowdockSimulator } from '../sandbox/flowdock/flowdock-simulator';
import { SimMessage } from '../sandbox/flowdock/flowdock-state';
import { GitHubReposState, SimRepo } from '../sandbox/github/github-repos-state';
import { GitHubSimulator } from '../sandbox/github/github-simulator';
import { githubRepoRoutes, pullJson, repoJson, userJson } from '../sandbox/github/repos.routes';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { migrations } from '../src/database/migrations';
import { freePort, MAIN, run, Spawned, waitForStatus, waitUntil } from '../sandbox/world/processes';
import {
  freshDatabase,
  FreshDatabase as TestDatabase,
  LOCAL_SERVER_URL,
} from '../sandbox/world/databases';
import { RoundRobinProxy } from './support/round-robin-proxy';

/**
 * Issue 15, item 5: three bridge processes on one PostgreSQL server database
 * behind a round-robin proxy take 3,000 webhooks for 100 pull requests and 400
 * Flowdock actions; halfway one replica is killed with SIGKILL and started
 * again. GitHub redelivers what was cut off with the same delivery id; a click
 * cut off is sent again with the same FLOWDOCK-TOKEN. Afterwards every
 * webhook's message is in Flowdock exactly once and in order, each thread shows
 * the item's final state, every action ran on GitHub exactly once, and no
 * answer was a 5xx.
 *
 * It always uses a server database (the embedded one is for one bridge):
 * TEST_DATABASE_URL's server, else the machine's local one.
 */
const SERVER_URL = process.env.TEST_DATABASE_URL ?? LOCAL_SERVER_URL;
const PUBLIC_URL = 'https://bridge.example.com';
const REPLICAS = 3;
/** The replica killed halfway. */
const VICTIM = 1;
const ITEMS = 100;
const WEBHOOKS_PER_ITEM = 30;
const LAST = WEBHOOKS_PER_ITEM - 1;
const TOTAL_WEBHOOKS = ITEMS * WEBHOOKS_PER_ITEM;
/** Requests in flight at once (each item's own requests go one after another). */
const CONCURRENCY = 16;
const USERS = 10;
/** Requests the stopped victim must be holding when it is killed. */
const CUT_OFF = 3;

/** After the webhook of these indexes, an item gets its next action. */
const ACTIONS_AFTER = [4, 10, 16, 22];
/** Per item: the actions, by user offset from the item number (each user and verb once per item). */
const ACTION_PLAN = [
  { slug: 'assign-to-me', user: 0 },
  { slug: 'assign-to-me', user: 1 },
  { slug: 'unassign-me', user: 0 },
  { slug: 'assign-to-me', user: 2 },
] as const;

const strongSecret = () => randomBytes(32).toString('base64url');

interface Replica {
  port: number;
  env: Record<string, string>;
  process: Spawned;
}

interface Webhook {
  item: number;
  index: number;
  deliveryId: string;
  /** The message this webhook is announced with. */
  title: string;
  attempts: number;
  answer?: 'accepted' | 'duplicate';
}

interface Action {
  item: number;
  /** The index of the webhook it follows. */
  after: number;
  slug: (typeof ACTION_PLAN)[number]['slug'];
  user: number;
  path: string;
  signed: SignedAction;
  attempts: number;
  /** done: answered 200; unknown: cut off, and its token was spent when sent again (401). */
  outcome?: 'done' | 'unknown';
  replica?: number;
}

/** At most `max` calls of `fn` at once; the others wait their turn. */
function limiter(max: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}

interface Answer {
  status: number;
  body: string;
  /** The replica that answered (the proxy says). */
  replica: number;
}

/** A POST over kept-alive connections (node:http: fetch costs the test process far more CPU). */
function post(agent: Agent, url: string, headers: Record<string, string>, body: string) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks).toString(),
            replica: Number(res.headers['x-replica']),
          }),
        );
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The connection broke before the whole answer came (its replica died): worth sending again. */
const isConnectionError = (error: unknown) =>
  (error as NodeJS.ErrnoException)?.code === 'ECONNRESET';

/** Visible text of a thread field's HTML value (links kept as their text). */
const text = (html: string) => html.replace(/<[^>]*>/g, '');

/** The `thread` of a message as the Flowdock simulator received it. */
interface RenderedThread {
  title: string;
  status: { value: string };
  fields: { label: string; value: string }[];
}

/** Which of an item's titles a thread title shows: 0 the first, LAST the final one. */
const revision = (title: string) =>
  /Final title/.test(title) ? LAST : Number(/revision (\d+)$/.exec(title)?.[1] ?? 0);

describe('three replicas under fire: one killed with SIGKILL mid-load', () => {
  const runId = randomBytes(3).toString('hex');
  /** An empty database: the three replicas migrate it at once. */
  let database: TestDatabase | undefined;
  let databaseUrl: string;
  const tempDirs: string[] = [];
  const replicas: Replica[] = [];
  const webhooks: Webhook[] = [];
  const actions: Action[] = [];
  const agent = new Agent({ keepAlive: true });
  let flowdock: FlowdockSimulator;
  let github: GitHubSimulator;
  let repos: GitHubReposState;
  let repo: SimRepo;
  let proxy: RoundRobinProxy;
  let db: Client;
  let env: Record<string, string>;
  let linked: { flowdockUserId: string; login: string }[];
  /** proxy.finished.length when the restarted victim was ready. */
  let restartedAt = 0;

  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    tempDirs.push(dir);
    return dir;
  };

  /** Every bridge process started, for the clean-up. */
  const processes: Spawned[] = [];
  const launch = (environment: Record<string, string>): Spawned => {
    const spawned = run(MAIN, environment);
    processes.push(spawned);
    try {
      tempDirs.push(readlinkSync(`/proc/${spawned.child.pid}/cwd`)); // run()'s working directory
    } catch {
      // Not Linux: that empty directory stays behind.
    }
    return spawned;
  };
  const ready = (replica: Replica) =>
    waitForStatus(
      `http://127.0.0.1:${replica.port}/health/ready`,
      200,
      replica.process,
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${replica.process.output()}`);
    });

  beforeAll(async () => {
    database = await freshDatabase(SERVER_URL, { migrate: false });
    databaseUrl = database.url;
    db = new Client({ connectionString: databaseUrl });
    await db.connect();

    const clientSecret = strongSecret();
    flowdock = await FlowdockSimulator.start({ clientId: `fire-fd-${runId}`, clientSecret });
    const source = flowdock.state.addSource();
    const ghUsers = Array.from({ length: USERS }, (_, i) => ({
      id: 7_100_000 + i,
      login: `fire-${runId}-${i}`,
      name: `Fire ${i}`,
    }));
    repos = new GitHubReposState();
    repo = repos.addRepo(`fire-${runId}/replicas`, {
      permissions: Object.fromEntries(ghUsers.map((u) => [u.login, 'write' as const])),
    });
    for (let n = 1; n <= ITEMS; n++)
      repos.addItem(`${repo.owner}/${repo.name}`, { number: n, kind: 'pull' });
    github = await GitHubSimulator.start({ users: ghUsers, routes: [githubRepoRoutes(repos)] });

    // One configuration for every replica: the same secrets, Flowdock and GitHub.
    env = benchEnvironment(databaseUrl, tempDir('bridge-replicas-link-'), {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      PUBLIC_URL,
      HOST: '127.0.0.1',
      COOKIE_SECRET: strongSecret(),
      TOKEN_ENCRYPTION_KEY: strongSecret(),
      GITHUB_WEBHOOK_SECRET: strongSecret(),
      GITHUB_CLIENT_ID: `fire-gh-${runId}`,
      GITHUB_CLIENT_SECRET: strongSecret(),
      FLOWDOCK_CLIENT_ID: `fire-fd-${runId}`,
      FLOWDOCK_CLIENT_SECRET: clientSecret,
      FLOWDOCK_API_URL: flowdock.url,
      FLOWDOCK_FLOW_TOKEN: source.flowToken,
      GITHUB_API_URL: github.url,
      GITHUB_URL: github.url,
      // A thread leased by the killed replica is taken over after max(5 s, 3 × this).
      FLOWDOCK_TIMEOUT_MS: '1500',
      FLOWDOCK_RETRY_BASE_MS: '100',
    });
    // All three start at once on the empty database: migrations take an advisory lock.
    const start = async (): Promise<Replica> => {
      const dataDir = tempDir('bridge-replica-');
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const replicaEnv = { ...env, PORT: String(port), DATA_DIR: dataDir };
        const replica = { port, env: replicaEnv, process: launch(replicaEnv) };
        try {
          await ready(replica);
          return replica;
        } catch (error) {
          // Another process on this busy machine took the free port in between.
          if (attempt < 3 && replica.process.output().includes('EADDRINUSE')) continue;
          throw error;
        }
      }
    };
    replicas.push(...(await Promise.all(Array.from({ length: REPLICAS }, start))));
    proxy = new RoundRobinProxy(replicas.map((r) => r.port));
    await proxy.start();

    const links = await linkUsers(
      env,
      ghUsers.map((u, i) => ({
        flowdockUserId: String(8_100_000 + i),
        github: { id: u.id, login: u.login },
        accessToken: github.state.issueToken(u.id, env.GITHUB_CLIENT_ID, ['repo']),
      })),
    );
    linked = links.map((flowdockUserId, i) => ({ flowdockUserId, login: ghUsers[i].login }));
    // GitHub's webhooks for the actions' changes (their echoes) go through the proxy too.
    repos.webhookTarget = {
      url: `${proxy.url}/github/webhooks`,
      secret: env.GITHUB_WEBHOOK_SECRET,
    };
  }, 90_000);

  afterAll(async () => {
    const steps: (() => Promise<unknown>)[] = [
      async () => {
        for (const p of processes) p.child.kill('SIGKILL');
        await Promise.all(processes.map((p) => p.exited));
      },
      async () => agent.destroy(),
      async () => proxy?.stop(),
      async () => flowdock?.stop(),
      async () => github?.stop(),
      async () => db?.end(),
      async () => database?.drop(),
      async () => {
        for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
      },
    ];
    const failures: unknown[] = [];
    for (const step of steps) await step().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  }, 30_000);

  /** The next change of item `n` made on GitHub, and its signed webhook. */
  function change(
    n: number,
    index: number,
  ): Webhook & { headers: Record<string, string>; body: string } {
    const item = repo.items.get(n)!;
    const extra: Record<string, unknown> = {};
    let action: string;
    let title: string;
    if (index === 0) {
      action = 'opened';
      title = 'opened pull request';
    } else if (index === LAST || index % 3 === 2) {
      extra.changes = { title: { from: item.title } };
      item.title = index === LAST ? `Final title of ${n}` : `Item ${n}, revision ${index}`;
      action = 'edited';
      title = 'edited pull request';
    } else if (index % 3 === 1) {
      const label = `l${index}`;
      item.labels.push(label);
      extra.label = { name: label };
      action = 'labeled';
      title = `added label ${label}`;
    } else {
      const label = `l${index - 2}`;
      item.labels = item.labels.filter((l) => l !== label);
      extra.label = { name: label };
      action = 'unlabeled';
      title = `removed label ${label}`;
    }
    item.updatedAt = repos.tick();
    const web = repos.webUrl;
    const payload = {
      action,
      number: n,
      pull_request: pullJson(web, repo, item),
      repository: repoJson(web, repo),
      sender: userJson(repo.owner, web),
      ...extra,
    };
    const signed = signedWebhook(env.GITHUB_WEBHOOK_SECRET, 'pull_request', payload, randomUUID());
    return { item: n, index, title, attempts: 0, ...signed };
  }

  /** Runs the load: every item's webhooks and actions in order, items side by side. */
  async function fire(): Promise<void> {
    const limit = limiter(CONCURRENCY);
    const send = (path: string, headers: Record<string, string>, body: string) =>
      limit(() => post(agent, proxy.url + path, headers, body));

    // The first failure stops every item (and one waiting for the victim), so that
    // nothing is still sending when the test ends.
    let failure: unknown;
    let accepted = 0;
    let restarting: Promise<void> | undefined;
    let restarted!: () => void;
    let failedRestart!: (error: unknown) => void;
    const victimBack = new Promise<void>((resolve, reject) => {
      restarted = resolve;
      failedRestart = reject;
    });
    victimBack.catch(() => undefined); // seen by the items waiting for it, if any
    /**
     * SIGSTOP first, just before a click is sent to the victim, so that it
     * holds that click and more requests it will never answer (taken by the
     * kernel, not by the bridge); then SIGKILL: they are certainly cut off.
     * It comes back on the same port and DATA_DIR.
     */
    const killAndRestart = async () => {
      const victim = replicas[VICTIM];
      let stopped = false;
      proxy.beforeForward = (replica, path) => {
        if (replica !== VICTIM || !path.startsWith('/flowdock/actions/')) return;
        proxy.beforeForward = undefined;
        stopped = victim.process.child.kill('SIGSTOP');
      };
      await waitUntil('a click sent to the victim', () => stopped || !!failure, 20_000);
      if (failure) throw failure as Error;
      await waitUntil(
        `${CUT_OFF} requests waiting at the stopped replica`,
        () => proxy.waiting(VICTIM) >= CUT_OFF,
        20_000,
      );
      victim.process.child.kill('SIGKILL');
      const { signal } = await victim.process.exited;
      expect(signal).toBe('SIGKILL');
      victim.process = launch(victim.env);
      await ready(victim);
      restartedAt = proxy.finished.length;
    };

    const deliver = async (webhook: ReturnType<typeof change>) => {
      webhooks.push(webhook);
      for (;;) {
        webhook.attempts++;
        let res;
        try {
          res = await send('/github/webhooks', webhook.headers, webhook.body);
        } catch (error) {
          // GitHub redelivers with the same delivery id.
          if (isConnectionError(error) && webhook.attempts < 10) continue;
          throw error;
        }
        const status = (JSON.parse(res.body) as { status?: string }).status;
        if (res.status === 202 && status === 'accepted') webhook.answer = 'accepted';
        else if (res.status === 200 && status === 'duplicate') webhook.answer = 'duplicate';
        else throw new Error(`webhook ${webhook.deliveryId}: ${res.status} ${res.body}`);
        break;
      }
      if (++accepted === TOTAL_WEBHOOKS / 2) {
        restarting = killAndRestart();
        void restarting.then(restarted, failedRestart);
      }
    };

    const act = async (n: number, step: number) => {
      const plan = ACTION_PLAN[step];
      const user = (n + plan.user) % USERS;
      const path = `/flowdock/actions/${repo.owner}/${repo.name}/pulls/${n}/${plan.slug}`;
      const action: Action = {
        item: n,
        after: ACTIONS_AFTER[step],
        slug: plan.slug,
        user,
        path,
        // One click, one token: sent again as is when cut off. It outlives the run (≤ 5 min).
        signed: signActionRequest(
          { name: plan.slug, urlTemplate: PUBLIC_URL + path, agent: { name: `fire ${n}.${step}` } },
          {
            clientSecret: env.FLOWDOCK_CLIENT_SECRET,
            userId: linked[user].flowdockUserId,
            ttlSeconds: 300,
          },
        ),
        attempts: 0,
      };
      actions.push(action);
      for (;;) {
        action.attempts++;
        let res;
        try {
          res = await send(path, action.signed.headers, action.signed.payload);
        } catch (error) {
          if (isConnectionError(error) && action.attempts < 10) continue;
          throw error;
        }
        if (res.status === 200) {
          action.outcome = 'done';
          action.replica = res.replica;
        } else if (res.status === 401 && action.attempts > 1 && res.body.includes('already used')) {
          action.outcome = 'unknown';
        } else {
          throw new Error(`action ${path} by ${linked[user].login}: ${res.status} ${res.body}`);
        }
        return;
      }
    };

    const item = async (n: number) => {
      try {
        for (let index = 0; index < WEBHOOKS_PER_ITEM && !failure; index++) {
          // The last change of each item goes out once the victim is back, so it gets some.
          if (index === LAST) await victimBack;
          await deliver(change(n, index));
          const step = ACTIONS_AFTER.indexOf(index);
          if (step >= 0) await act(n, step);
        }
      } catch (error) {
        failure ??= error;
        failedRestart(error);
      }
    };
    await Promise.all(Array.from({ length: ITEMS }, (_, i) => item(i + 1)));
    await restarting?.catch((error: unknown) => (failure ??= error));
    if (failure) throw failure as Error;
  }

  /** Whether GitHub changed the item for each action, replaying the item's actions in order. */
  function githubEffects() {
    const effects = new Map<Action, { calls: number; changed: boolean }>();
    const assigned = new Map<number, Set<string>>();
    for (const action of actions) {
      const login = linked[action.user].login;
      const calls = repos.calls.filter(
        (c) =>
          c.path === `/repos/${repo.owner}/${repo.name}/issues/${action.item}/assignees` &&
          c.method === (action.slug === 'assign-to-me' ? 'POST' : 'DELETE') &&
          c.login === login,
      );
      const performed = calls.some((c) => c.status >= 200 && c.status < 300);
      const set = assigned.get(action.item) ?? new Set<string>();
      assigned.set(action.item, set);
      const had = set.has(login);
      if (performed) {
        if (action.slug === 'assign-to-me') set.add(login);
        else set.delete(login);
      }
      effects.set(action, { calls: calls.length, changed: performed && had !== set.has(login) });
    }
    return effects;
  }

  it('takes 3,000 webhooks and 400 actions while a replica is killed, and settles', async () => {
    await fire();
    expect(webhooks).toHaveLength(TOTAL_WEBHOOKS);
    expect(actions).toHaveLength(ITEMS * ACTION_PLAN.length);

    // Settled: GitHub's echoes of the actions all came (answered or cut off), every
    // delivery is processed and every message sent (one snapshot of both tables).
    const mine = new Set(webhooks.map((w) => w.deliveryId));
    const echoes = [...githubEffects().values()].filter((e) => e.changed).length;
    await waitUntil(
      `${echoes} echoes of the actions through the proxy`,
      () => proxy.finished.filter((r) => r.deliveryId && !mine.has(r.deliveryId)).length >= echoes,
      30_000,
    );
    await waitUntil(
      'every delivery processed and every message sent',
      async () => {
        const { rows } = await db.query<{ deliveries: number; messages: number }>(
          `SELECT (SELECT count(*) FROM github_webhook_delivery WHERE processed_at IS NULL)::int AS deliveries,
                    (SELECT count(*) FROM flowdock_message WHERE status = 'pending')::int AS messages`,
        );
        return rows[0].deliveries === 0 && rows[0].messages === 0;
      },
      40_000,
    );
  }, 120_000);

  it('answered no 5xx: a request cut off by the kill was a connection error, sent again', () => {
    const statuses = new Map<number | undefined, number>();
    for (const r of proxy.finished) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const cut = proxy.finished.filter((r) => r.status === undefined);
    const unknown = actions.filter((a) => a.outcome === 'unknown');
    // 202/200 for webhooks and actions, 401 only for a cut-off click whose token was spent.
    expect(
      [...statuses.keys()].filter((s) => s !== undefined && ![200, 202, 401].includes(s)),
    ).toEqual([]);
    expect(statuses.get(401) ?? 0).toBe(unknown.length);
    expect(cut.length).toBeGreaterThanOrEqual(CUT_OFF);
    expect(cut.every((r) => r.replica === VICTIM)).toBe(true);
    expect(actions.filter((a) => a.attempts > 1).length).toBeGreaterThan(0);
    // A redelivery answered "duplicate" only when an earlier attempt had been stored.
    expect(webhooks.filter((w) => w.answer === 'duplicate' && w.attempts === 1)).toEqual([]);
    // The restarted replica took part again.
    const after = proxy.finished.slice(restartedAt);
    expect(
      after.filter((r) => r.replica === VICTIM && r.status !== undefined).length,
    ).toBeGreaterThan(0);
    // No replica logged an error: a deadlock between a processing batch and the delivery
    // worker's marks is retried at once, not reported (and retried a second later).
    const errors = processes
      .flatMap((p) => p.output().split('\n'))
      .filter((line) => /"level":(50|60)/.test(line));
    expect(errors).toEqual([]);
  });

  it('processed every delivery once and posted every message, none dead', async () => {
    const { rows } = await db.query<{ outcome: string; messages: number; count: number }>(
      `SELECT outcome, messages, count(*)::int AS count FROM github_webhook_delivery
       WHERE delivery_id = ANY($1) GROUP BY 1, 2`,
      [webhooks.map((w) => w.deliveryId)],
    );
    expect(rows).toEqual([{ outcome: 'published', messages: 1, count: TOTAL_WEBHOOKS }]);
    const { rows: dead } = await db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM flowdock_message WHERE status <> 'sent'`,
    );
    expect(dead[0].count).toBe(0);
    // Three processes migrated one empty database at once: each migration ran once.
    const { rows: applied } = await db.query<{ name: string; count: number }>(
      `SELECT name, count(*)::int AS count FROM migrations GROUP BY name`,
    );
    expect(applied).toHaveLength(migrations.length);
    expect(applied.every((m) => m.count === 1)).toBe(true);
  });

  it("put each webhook's message in Flowdock exactly once, in order, the newest state last", () => {
    const threads = new Map<string, SimMessage[]>();
    for (const m of flowdock.state.messages) {
      const id = String(m.body.external_thread_id);
      threads.set(id, [...(threads.get(id) ?? []), m]);
    }
    expect(threads.size).toBe(ITEMS);

    const effects = githubEffects();
    const problems: string[] = [];
    for (let n = 1; n <= ITEMS; n++) {
      const messages = threads.get(`github:${repo.owner}/${repo.name}:pull:${n}`) ?? [];
      // A message sent again keeps its uuid (Flowdock's key against duplicates): a resend
      // after the kill, or the first try of a post that timed out arriving late. Each
      // uuid counts once, where it first arrived.
      const firsts = new Map<string, SimMessage>();
      for (const m of messages) {
        const uuid = String(m.body.uuid);
        const first = firsts.get(uuid);
        if (first && first.body.title !== m.body.title)
          problems.push(
            `#${n}: uuid ${uuid} carried "${String(first.body.title)}" and "${String(m.body.title)}"`,
          );
        if (!first) firsts.set(uuid, m);
      }
      const kept = [...firsts.values()];
      const sequence = kept.map((m) => String(m.body.title));
      const isAction = (title: string) => /^(un)?assigned @/.test(title);

      const expected = webhooks
        .filter((w) => w.item === n)
        .sort((a, b) => a.index - b.index)
        .map((w) => w.title);
      const got = sequence.filter((t) => !isAction(t));
      if (JSON.stringify(got) !== JSON.stringify(expected))
        problems.push(
          `#${n}: webhook messages ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`,
        );

      // Each action that changed GitHub is announced once (by the bridge, or by GitHub's
      // echo if the bridge had not recorded it yet), before the webhooks sent after its answer.
      for (const action of actions.filter((a) => a.item === n)) {
        const title = `${action.slug === 'assign-to-me' ? 'assigned' : 'unassigned'} @${linked[action.user].login}`;
        const at = sequence.indexOf(title);
        const times = sequence.filter((t) => t === title).length;
        const { changed } = effects.get(action)!;
        if (action.outcome === 'done' && changed && times !== 1)
          problems.push(`#${n}: "${title}" announced ${times} times`);
        if (times > (changed ? 1 : 0))
          problems.push(
            `#${n}: "${title}" announced ${times} times, GitHub changed ${String(changed)}`,
          );
        const webhooksBefore = sequence.slice(0, at).filter((t) => !isAction(t)).length;
        if (action.outcome === 'done' && at >= 0 && webhooksBefore > action.after + 1)
          problems.push(
            `#${n}: "${title}" came after webhook ${webhooksBefore - 1}, sent after its answer`,
          );
      }

      // Each message shows the thread at least as new as the one before it.
      const revisions = kept.map((m) => revision((m.body.thread as RenderedThread).title));
      if (revisions.some((r, i) => i > 0 && r < revisions[i - 1]))
        problems.push(`#${n}: the thread went back: title revisions ${revisions.join(' ')}`);

      // The last message shows the item as it is on GitHub now.
      const item = repo.items.get(n)!;
      const thread = kept.at(-1)?.body.thread as RenderedThread | undefined;
      const field = (label: string) => thread?.fields.find((f) => f.label === label)?.value;
      const shown = {
        title: thread?.title,
        status: thread?.status.value,
        assignees: text(field('Assignees') ?? ''),
        labels: field('Labels'),
      };
      const truth = {
        title: `#${n} ${item.title}`,
        status: item.state,
        assignees: item.assignees.length > 0 ? item.assignees.join(', ') : 'none',
        labels: item.labels.length > 0 ? item.labels.join(', ') : undefined,
      };
      if (JSON.stringify(shown) !== JSON.stringify(truth))
        problems.push(
          `#${n}: the last message shows ${JSON.stringify(shown)}, GitHub ${JSON.stringify(truth)}`,
        );
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });

  it('performed every action on GitHub exactly once, and refuses a spent token at another replica', async () => {
    const effects = githubEffects();
    for (const action of actions) {
      const { calls } = effects.get(action)!;
      // A click cut off after its token was spent may or may not have reached GitHub.
      if (action.outcome === 'done')
        expect({ path: action.path, calls }).toEqual({ path: action.path, calls: 1 });
      else expect(calls).toBeLessThanOrEqual(1);
    }
    const counted = [...effects.values()].reduce((sum, e) => sum + e.calls, 0);
    expect(repos.calls).toHaveLength(counted);
    expect(repos.calls.every((c) => c.status === 200 || c.status === 201)).toBe(true);

    // Two used tokens, each sent again straight to both replicas that did not take it.
    const used = actions.filter((a) => a.outcome === 'done').slice(-2);
    expect(used).toHaveLength(2);
    for (const action of used) {
      for (const other of [1, 2].map((d) => replicas[(action.replica! + d) % REPLICAS])) {
        const res = await fetch(`http://127.0.0.1:${other.port}${action.path}`, {
          method: 'POST',
          headers: action.signed.headers,
          body: action.signed.payload,
        });
        expect({ status: res.status, body: await res.text() }).toEqual({
          status: 401,
          body: expect.stringContaining('already used'),
        });
      }
    }
    expect(repos.calls).toHaveLength(counted);
  });
});
