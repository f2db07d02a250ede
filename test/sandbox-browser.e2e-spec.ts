import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { Demo, startDemo } from '../sandbox/demo/demo-world';

const CHROMIUM = '/usr/bin/chromium';
const INSTALL_CHROMIUM =
  'sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium';
/**
 * Without Chromium the browser test is skipped (and says how to install it),
 * so `npm test` passes on a machine with Node alone; in CI it is required.
 */
const chromiumMissing = !existsSync(CHROMIUM) && !process.env.CI;
if (chromiumMissing) {
  process.stderr.write(
    `The sandbox browser test is skipped: Chromium is missing at ${CHROMIUM}. Install it with:\n  ${INSTALL_CHROMIUM}\n`,
  );
}
const describeInBrowser = chromiumMissing ? describe.skip : describe;
const ARTIFACTS = join(__dirname, '..', 'test-artifacts', 'sandbox-browser');
// Headless Chromium without its background connections: the machine has no internet.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The sandbox as a person uses it, in a real browser: the demo's bridge and
 * simulators (on free ports, on the test database), Debian's Chromium through
 * playwright-core. Screenshots of each step go to test-artifacts/sandbox-browser.
 */
describeInBrowser(
  chromiumMissing
    ? `sandbox in a browser — skipped: no Chromium at ${CHROMIUM} (install: ${INSTALL_CHROMIUM})`
    : 'sandbox in a browser: open a PR, link on first click, assign, close, approve, merge',
  () => {
    jest.setTimeout(120_000);
    let demo: Demo;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    const logs: string[] = [];
    // User ids of their own: spec files share one database.
    const base = randomInt(1_000_000, 900_000_000);
    const alice = { id: base + 1, nick: 'alice', name: 'Alice Anderson', email: 'a@example.test' };
    const bob = { id: base + 2, nick: 'bob', name: 'Bob Brown', email: 'b@example.test' };
    const octocat = { id: base + 11, login: 'octocat', name: 'The Octocat' };

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) {
        throw new Error(
          `Chromium is missing at ${CHROMIUM} and CI is set: install it with "${INSTALL_CHROMIUM}" (.ci/run does).`,
        );
      }
      mkdirSync(ARTIFACTS, { recursive: true });
      demo = await startDemo({
        ports: { bridge: 0, flowdock: 0, github: 0 },
        databaseUrl: process.env.E2E_DATABASE_URL,
        dataDir: mkdtempSync(join(tmpdir(), 'bridge-sandbox-')),
        repository: `acme/widgets-${base}`,
        flowdockUsers: [alice, bob],
        githubUsers: [
          octocat,
          { id: base + 12, login: 'hubot', name: 'Hubot' },
          { id: base + 13, login: 'monalisa', name: 'Mona Lisa' },
        ],
        env: {
          NODE_ENV: 'test',
          LOG_LEVEL: 'info',
          FLOWDOCK_DELIVERY_POLL_MS: '200',
          // Replies are heard (off by default under NODE_ENV=test).
          FLOWDOCK_STREAM_CHECK_MS: '500',
        },
        logStream: { write: (line: string) => void logs.push(line) },
      });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser?.close();
      await demo?.stop();
    });

    const newPage = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      contexts.push(context);
      return context.newPage();
    };
    const shot = (page: Page, name: string) =>
      page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    const thread = (inbox: Page, title: string): Locator =>
      inbox.locator('article.thread', { hasText: title });
    const clickAction = async (inbox: Page, title: string, name: string) => {
      await thread(inbox, title).getByRole('button', { name, exact: true }).click();
      await inbox.locator('#outcome:not(.pending):not(:empty)').waitFor();
    };

    it('goes from a new pull request to an assigned, closed, reopened, approved and merged thread; a link works only for its user', async () => {
      const title = `Make the widgets sparkle ${base}`;

      // The seed is in the inbox at once.
      const inbox = await newPage();
      await inbox.goto(`${demo.inboxUrl}?as=${alice.id}`);
      await inbox
        .locator('article.thread')
        .nth(demo.seededThreads - 1)
        .waitFor();
      await expect(inbox.locator('article.thread').count()).resolves.toBe(demo.seededThreads);
      await shot(inbox, '01-inbox-seeded');

      // A pull request opened on the GitHub page becomes a green "open" thread.
      const gh = await newPage();
      await gh.goto(`${demo.githubPageUrl}?as=monalisa`);
      await gh.locator('select[name=kind]').selectOption('pull');
      await gh.locator('input[name=title]').fill(title);
      await gh.locator('input[name=body]').fill('Adds <b>sparkle</b> to every widget.');
      await gh.locator('#open-item').click();
      await expect(gh.locator('#note').textContent()).resolves.toMatch(
        /Opened #5 \(webhook answered 202\)/,
      );
      await shot(gh, '02-github-pr-opened');
      const card = thread(inbox, title);
      await card.waitFor({ timeout: 15_000 });
      await expect(card.locator('.badge').textContent()).resolves.toBe('open');
      await expect(card.locator('.badge').getAttribute('data-color')).resolves.toBe('green');
      // HTML from GitHub is shown as text, never interpreted.
      await expect(card.locator('.body b').count()).resolves.toBe(0);
      await expect(card.locator('.body').textContent()).resolves.toBe(
        'Adds <b>sparkle</b> to every widget.',
      );
      // The title links to the GitHub simulator's page of the pull request.
      await expect(card.locator('.title a').getAttribute('href')).resolves.toBe(
        `${demo.github.url}/${demo.repository}/pull/5`,
      );
      await shot(inbox, '03-inbox-thread-appears');

      // Unlinked: "Assign to me" answers with a challenge link.
      await clickAction(inbox, title, 'Assign to me');
      await expect(inbox.locator('#outcome').getAttribute('class')).resolves.toBe('challenge');
      const firstLink = await inbox.locator('#challenge-link').getAttribute('href');
      expect(firstLink).toMatch(new RegExp(`^${demo.bridgeUrl}/authorization\\?claim=`));
      await shot(inbox, '04-inbox-challenge');

      // Bob opening Alice's link and signing in as himself links nothing.
      const bobPage = await newPage();
      await bobPage.goto(firstLink!);
      await bobPage.getByLabel(/Bob Brown/).check();
      await bobPage.getByRole('button', { name: 'Approve' }).click();
      await expect(bobPage.locator('h1').textContent()).resolves.toBe(
        'This link was made for another Flowdock user',
      );
      await expect(bobPage.locator('#message').textContent()).resolves.toContain(
        'you signed in to Flowdock as Bob Brown (@bob)',
      );
      await shot(bobPage, '05-other-user-refused');
      expect(demo.repos.repo(demo.repository)!.items.get(5)!.assignees).toEqual([]);

      // Bob chooses himself in the inbox, clicks, and follows his own link in that browser:
      // the Flowdock consent page has him selected already.
      await inbox.locator('#user').selectOption(String(bob.id));
      await clickAction(inbox, title, 'Assign to me');
      const link = await inbox.locator('#challenge-link').getAttribute('href');
      expect(link).not.toBe(firstLink);
      const linking = await inbox.context().newPage();
      await linking.goto(link!);
      await expect(linking.title()).resolves.toContain('Flowdock (sandbox)');
      await expect(linking.getByLabel(/Bob Brown/).isChecked()).resolves.toBe(true);
      await shot(linking, '06-flowdock-consent');
      await linking.getByRole('button', { name: 'Approve' }).click();
      await expect(linking.title()).resolves.toContain('GitHub (sandbox)');
      await linking.getByLabel(/@octocat/).check();
      await shot(linking, '07-github-consent');
      await linking.getByRole('button', { name: 'Authorize' }).click();
      // Linking performs the click that asked for it: no second click in the inbox.
      await expect(linking.locator('h1').textContent()).resolves.toBe('Linked, and done');
      await expect(linking.locator('#next').textContent()).resolves.toContain(
        `You are now assigned to ${demo.repository}#5.`,
      );
      await expect(linking.locator('#message').textContent()).resolves.toContain(
        'Bob Brown (@bob) is now linked to the GitHub account @octocat',
      );
      await shot(linking, '08-linked');

      // The thread follows the webhook of the assignment made as his GitHub user.
      expect(demo.repos.repo(demo.repository)!.items.get(5)!.assignees).toEqual(['octocat']);
      await card.locator('.fields', { hasText: 'octocat' }).waitFor({ timeout: 15_000 });
      await gh.reload();
      await expect(gh.locator('tr[data-number="5"] .assignees').textContent()).resolves.toBe(
        'octocat',
      );
      await shot(inbox, '09-inbox-assigned');
      await shot(gh, '10-github-assigned');

      // Close: the thread turns red "closed" and offers "Reopen".
      await clickAction(inbox, title, 'Close');
      await expect(inbox.locator('#outcome').getAttribute('class')).resolves.toBe('success');
      await card.locator('.badge', { hasText: 'closed' }).waitFor({ timeout: 15_000 });
      await expect(card.locator('.badge').getAttribute('data-color')).resolves.toBe('red');
      await card.getByRole('button', { name: 'Reopen', exact: true }).waitFor();
      expect(demo.repos.repo(demo.repository)!.items.get(5)!.state).toBe('closed');
      await shot(inbox, '11-inbox-closed');

      // The closing and assigning went to GitHub as octocat, with his token.
      const calls = demo.repos.calls.filter(
        (c) => c.path.includes(`/issues/5`) || c.path.includes('/pulls/5'),
      );
      expect(calls.filter((c) => c.method !== 'GET').map((c) => [c.login, c.status])).toEqual([
        ['octocat', 201],
        ['octocat', 200],
      ]);

      // "Delivery log": after signing in with Flowdock (Bob, a member of the flow), the
      // thread's page of the bridge shows the delivery that created the thread.
      const logLink = card.getByRole('link', { name: 'Delivery log', exact: true });
      const logUrl = await logLink.getAttribute('href');
      expect(logUrl).toBe(`${demo.bridgeUrl}/deliveries/${demo.repository}/5`);
      const log = await inbox.context().newPage();
      await log.goto(logUrl!);
      await expect(log.getByLabel(/Bob Brown/).isChecked()).resolves.toBe(true);
      await log.getByRole('button', { name: 'Approve' }).click();
      await log.locator('table#deliveries').waitFor();
      expect(log.url()).toBe(logUrl);
      await expect(log.locator('#viewer').textContent()).resolves.toContain('Bob Brown (@bob)');
      const created = log.locator('table#deliveries tr', { hasText: 'opened' });
      await expect(created.textContent()).resolves.toMatch(/pull_request[\s\S]*published/);
      await shot(log, '12-delivery-log');

      // Reopen, Approve and Merge, as octocat: the thread turns green, shows the approval,
      // then turns purple "merged" with no action left but the links.
      const callsBefore = demo.repos.calls.length;
      await clickAction(inbox, title, 'Reopen');
      await card.locator('.badge', { hasText: 'open' }).waitFor({ timeout: 15_000 });
      await expect(card.locator('.badge').getAttribute('data-color')).resolves.toBe('green');
      await clickAction(inbox, title, 'Approve');
      await expect(inbox.locator('#outcome').getAttribute('class')).resolves.toBe('success');
      await card.locator('.fields', { hasText: 'octocat (approved)' }).waitFor({ timeout: 15_000 });
      await shot(inbox, '13-inbox-approved');
      await clickAction(inbox, title, 'Merge');
      await expect(inbox.locator('#outcome').getAttribute('class')).resolves.toBe('success');
      await card.locator('.badge', { hasText: 'merged' }).waitFor({ timeout: 15_000 });
      await expect(card.locator('.badge').getAttribute('data-color')).resolves.toBe('purple');
      await expect(card.getByRole('button', { name: 'Merge', exact: true }).count()).resolves.toBe(
        0,
      );
      const merged = demo.repos.repo(demo.repository)!.items.get(5)!;
      expect(merged.merged).toBe(true);
      expect(
        demo.repos.calls
          .slice(callsBefore)
          .filter((c) => c.method !== 'GET')
          .map((c) => [
            c.method,
            c.path.replace(/^.*\/(issues|pulls)\/5/, '$1/5'),
            c.login,
            c.status,
          ]),
      ).toEqual([
        ['PATCH', expect.stringMatching(/^(issues|pulls)\/5$/), 'octocat', 200],
        ['POST', 'pulls/5/reviews', 'octocat', 200],
        ['PUT', 'pulls/5/merge', 'octocat', 200],
      ]);
      await gh.reload();
      await shot(inbox, '14-inbox-merged');
      await shot(gh, '15-github-merged');

      // A reply in the thread becomes a comment on the pull request, by octocat (Bob's link),
      // with the text as written; GitHub's webhook for it adds nothing to the thread.
      const activities = () => card.locator('.timeline li').count();
      const reply = 'Thanks — the widgets <sparkle> now.';
      await card.locator('form.reply input[name=content]').fill(reply);
      await card.locator('form.reply').getByRole('button', { name: 'Reply' }).click();
      await card
        .locator('.timeline .reply', { hasText: reply })
        .waitFor({ state: 'attached', timeout: 15_000 });
      const item = await newPage();
      await item.goto(`${demo.github.url}/${demo.repository}/pull/5?as=octocat`);
      const comment = item.locator('ol.comments li.comment', { hasText: reply });
      for (let i = 0; i < 100 && (await comment.count()) === 0; i++) {
        await sleep(100);
        await item.reload();
      }
      await expect(comment.locator('strong').textContent()).resolves.toBe('octocat');
      await expect(comment.locator('p').textContent()).resolves.toBe(reply);
      const before = await activities();
      const db = demo.bridge.get(DataSource);
      let echo: { outcome: string | null }[] = [];
      for (let i = 0; i < 100 && !echo[0]?.outcome; i++) {
        await sleep(100);
        echo = await db.query(
          `SELECT outcome FROM github_webhook_delivery
           WHERE event = 'issue_comment' AND repository = $1 AND item_number = 5`,
          [demo.repository],
        );
      }
      expect(echo).toEqual([{ outcome: expect.stringMatching(/^(state-only|dropped)$/) }]);
      await inbox.reload();
      await expect(activities()).resolves.toBe(before);
      await shot(item, '16-github-comment-from-reply');
    });
  },
);
