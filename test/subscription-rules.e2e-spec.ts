import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { Subscription } from '../src/subscriptions/subscription.entity';
import { NewSubscription, SubscriptionService } from '../src/subscriptions/subscription.service';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { outcomeOf } from './support/webhook-deliveries';
import { inRepo, postWebhook, uniqueRepo } from './support/webhook-requests';

const SECRET = 'rules-webhook-secret-0123456789abcdefgh';

/**
 * Subscription rules against the item as each event leaves it: excluded
 * senders and authors (globs), excluded and required labels, drafts, and late
 * matches — an item that starts to match appears in the flow then, once,
 * saying why.
 */
describe('subscription rules', () => {
  let t: TestApp;
  let db: DataSource;
  let subscriptions: SubscriptionService;
  /** Every event is newer than the one before (the thread keeps the newest state). */
  let clock = Date.parse('2026-03-01T10:00:00Z');

  beforeAll(async () => {
    t = await startTestApp(testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET }));
    db = t.app.get(DataSource);
    subscriptions = t.app.get(SubscriptionService);
  });
  afterAll(() => t?.app.close());

  const subscribe = (repositoryPattern: string, rules: Partial<NewSubscription> = {}) =>
    subscriptions.add({ repositoryPattern, flowToken: `flow-${randomUUID()}`, ...rules });

  const label = (name: string) => ({
    id: name.length,
    node_id: `L_${name}`,
    url: `https://api.github.com/labels/${name}`,
    name,
    color: 'ededed',
    default: false,
    description: null,
  });

  interface PullRequestEvent {
    action: string;
    draft?: boolean;
    labels?: string[];
    /** The label of a labeled/unlabeled event. */
    label?: string;
    sender?: { login: string; type: 'User' | 'Bot' };
    author?: string;
    number?: number;
  }

  /** Sends a pull_request event for `repo` and waits for its outcome. */
  const pullRequest = async (repo: string, event: PullRequestEvent) => {
    const payload = inRepo(examplePayload('pull_request', 'opened'), repo);
    const pr = payload.pull_request as unknown as Record<string, unknown>;
    Object.assign(payload, { action: event.action });
    pr.number = payload.number = event.number ?? 7;
    pr.draft = event.draft ?? false;
    pr.labels = (event.labels ?? []).map(label);
    pr.updated_at = new Date((clock += 60_000)).toISOString();
    if (event.author) pr.user = { ...payload.pull_request.user, login: event.author };
    if (event.label) Object.assign(payload, { label: label(event.label) });
    if (event.sender) payload.sender = { ...payload.sender, ...event.sender };
    const webhook = signedWebhook(SECRET, 'pull_request', payload);
    expect((await postWebhook(t.app, webhook)).statusCode).toBe(202);
    return outcomeOf(db, webhook.deliveryId);
  };

  const messagesIn = (sourceId: string) =>
    db
      .query<{ title: string }[]>(
        `SELECT m.event->>'title' AS title FROM flowdock_message m
         JOIN flowdock_thread t ON t.id = m.thread_id WHERE t.source_id = $1 ORDER BY m.id`,
        [sourceId],
      )
      .then((rows) => rows.map((r) => r.title));

  it('the rules read for a webhook (plain SQL) are every field of the stored subscription', async () => {
    const repo = `rules-${randomUUID().slice(0, 8)}/read`;
    const added = await subscribe(repo, {
      eventKinds: ['pull_request'],
      ignoreBots: true,
      requiredLabels: ['ready'],
      excludeLabels: ['wip'],
      excludeUsers: ['dependabot*'],
      drafts: 'announce',
    });
    const [read] = await subscriptions.forRepositories([repo]);
    expect(read).toEqual(await db.getRepository(Subscription).findOneByOrFail({ id: added.id }));
    expect(read.excludeUsers).toEqual(['dependabot*']);
  });

  it('excluded users by login glob: their events, and every event on items they authored', async () => {
    const repo = uniqueRepo();
    const flow = await subscribe(repo, { excludeUsers: ['dependabot*', 'preview-*'] });

    const bump = await pullRequest(repo, {
      action: 'opened',
      number: 1,
      author: 'dependabot[bot]',
      sender: { login: 'dependabot[bot]', type: 'Bot' },
    });
    expect(bump).toEqual({ outcome: 'dropped', reason: 'user filter', messages: 0 });
    // A person's change to the bot's pull request is still about an excluded author's item.
    const byPerson = await pullRequest(repo, {
      action: 'labeled',
      number: 1,
      author: 'dependabot[bot]',
      labels: ['deps'],
      label: 'deps',
    });
    expect(byPerson).toMatchObject({ outcome: 'dropped', reason: 'user filter' });

    expect(await pullRequest(repo, { action: 'opened', number: 2 })).toMatchObject({
      outcome: 'published',
    });
    const byDeployBot = await pullRequest(repo, {
      action: 'labeled',
      number: 2,
      labels: ['preview'],
      label: 'preview',
      sender: { login: 'preview-deploy', type: 'User' },
    });
    expect(byDeployBot).toMatchObject({ outcome: 'dropped', reason: 'user filter' });
    expect(await messagesIn(flow.sourceId)).toEqual(['opened pull request']);
  });

  it('excluded labels keep an item out; removing the label brings it in, once, saying why', async () => {
    const repo = uniqueRepo();
    const flow = await subscribe(repo, { excludeLabels: ['wip'] });

    expect(await pullRequest(repo, { action: 'opened', labels: ['wip'] })).toEqual({
      outcome: 'dropped',
      reason: 'label filter',
      messages: 0,
    });
    expect(
      await pullRequest(repo, { action: 'unlabeled', labels: [], label: 'wip' }),
    ).toMatchObject({ outcome: 'published', reason: 'late match: label wip removed', messages: 1 });
    expect(
      await pullRequest(repo, { action: 'labeled', labels: ['ui'], label: 'ui' }),
    ).toMatchObject({ outcome: 'published', reason: null });
    expect(await messagesIn(flow.sourceId)).toEqual([
      'appears in this flow now: label wip removed',
      'added label ui',
    ]);
  });

  it('a required label added later — by a bot, to a flow that ignores bots — creates the thread then, once', async () => {
    const repo = uniqueRepo();
    const flow = await subscribe(repo, { requiredLabels: ['ops'], ignoreBots: true });
    const action = { login: 'github-actions[bot]', type: 'Bot' as const };

    expect(await pullRequest(repo, { action: 'opened' })).toMatchObject({
      outcome: 'dropped',
      reason: 'label filter',
    });
    expect(
      await pullRequest(repo, { action: 'labeled', labels: ['ops'], label: 'ops', sender: action }),
    ).toEqual({ outcome: 'published', reason: 'late match: label ops added', messages: 1 });
    // Matching already: the bot's next change is an ordinary event, and the flow ignores bots.
    expect(
      await pullRequest(repo, {
        action: 'labeled',
        labels: ['ops', 'urgent'],
        label: 'urgent',
        sender: action,
      }),
    ).toMatchObject({ outcome: 'dropped', reason: 'bot filter' });
    expect(await messagesIn(flow.sourceId)).toEqual(['appears in this flow now: label ops added']);
    const [thread] = await db.query<{ labels: string[] }[]>(
      `SELECT snapshot->'labels' AS labels FROM flowdock_thread WHERE source_id = $1`,
      [flow.sourceId],
    );
    expect(thread.labels).toEqual(['ops', 'urgent']);
  });

  it('drafts: silent until ready for review by default, announced when the flow asks', async () => {
    const repo = uniqueRepo();
    const whenReady = await subscribe(repo);
    const announce = await subscribe(repo, { drafts: 'announce' });

    expect(await pullRequest(repo, { action: 'opened', draft: true })).toEqual({
      outcome: 'published',
      reason: null,
      messages: 1,
    });
    expect(
      await pullRequest(repo, { action: 'labeled', draft: true, labels: ['x'], label: 'x' }),
    ).toMatchObject({ outcome: 'published', messages: 1 });
    expect(await pullRequest(repo, { action: 'ready_for_review', draft: false })).toEqual({
      outcome: 'published',
      reason: 'late match: ready for review',
      messages: 2,
    });
    expect(await messagesIn(whenReady.sourceId)).toEqual([
      'appears in this flow now: ready for review',
    ]);
    expect(await messagesIn(announce.sourceId)).toEqual([
      'opened pull request',
      'added label x',
      'marked pull request ready for review',
    ]);
  });

  it('a draft for a when-ready flow alone is dropped by the draft rule', async () => {
    const repo = uniqueRepo();
    await subscribe(repo);
    expect(await pullRequest(repo, { action: 'opened', draft: true })).toEqual({
      outcome: 'dropped',
      reason: 'draft filter',
      messages: 0,
    });
  });

  it('rules are validated', async () => {
    await expect(subscribe(uniqueRepo(), { excludeUsers: ['*'] })).rejects.toThrow(
      /not a login or login pattern/,
    );
    await expect(
      subscribe(uniqueRepo(), { drafts: 'sometimes' as NewSubscription['drafts'] }),
    ).rejects.toThrow(/drafts must be announce or when-ready/);
  });
});
