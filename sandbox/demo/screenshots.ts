/**
 * `npm run screenshots`: the README's pictures, taken from the demo itself
 * (the same seed, repository and users as `npm run demo`, on free ports and
 * a throw-away embedded database) in Debian's Chromium (/usr/bin/chromium).
 * Writes docs/sandbox-inbox.png (the inbox after "Assign to me") and
 * docs/sandbox-linked.png (the page that ends linking).
 */
import 'reflect-metadata';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startDemo } from './demo-world';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = resolve(__dirname, '..', '..', '..', 'docs');
const TITLE = 'Add a dark mode to the settings page';

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: sudo apt-get install -y --no-install-recommends chromium`,
    );
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'bridge-screenshots-'));
  const demo = await startDemo({
    ports: { bridge: 0, flowdock: 0, github: 0 },
    dataDir,
    env: { LOG_LEVEL: 'warn', FLOWDOCK_DELIVERY_POLL_MS: '200' },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 820 } });
    const inbox = await context.newPage();
    await inbox.goto(demo.inboxUrl);
    const thread = inbox.locator('article.thread', { hasText: TITLE });
    await thread.waitFor({ timeout: 30_000 });

    // Unlinked: the click answers with the challenge link; linking performs the click.
    await thread.getByRole('button', { name: 'Assign to me', exact: true }).click();
    const link = await inbox.locator('#challenge-link').getAttribute('href', { timeout: 15_000 });
    const linking = await context.newPage();
    await linking.goto(link!);
    await linking.getByRole('button', { name: 'Approve' }).click();
    await linking.getByLabel(/@octocat/).check();
    await linking.getByRole('button', { name: 'Authorize' }).click();
    await linking.locator('#action-outcome').waitFor();
    await linking.screenshot({ path: join(DOCS, 'sandbox-linked.png') });

    await thread.locator('.fields', { hasText: 'octocat' }).waitFor({ timeout: 15_000 });
    // A fresh page, as someone coming back to the inbox sees it.
    const back = await context.newPage();
    await back.goto(demo.inboxUrl);
    await back
      .locator('article.thread', { hasText: TITLE })
      .locator('.fields', { hasText: 'octocat' })
      .waitFor();
    await back.screenshot({ path: join(DOCS, 'sandbox-inbox.png') });
    process.stdout.write(`Wrote docs/sandbox-inbox.png and docs/sandbox-linked.png\n`);
  } finally {
    await browser.close();
    await demo.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`Screenshots failed: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
