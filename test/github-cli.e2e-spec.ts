import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { LinkedAccountService } from '../src/auth/linked-account.service';
import { FlowdockDeliveryService } from '../src/delivery/flowdock-delivery.service';
import { FlowdockOutbox } from '../src/delivery/flowdock-outbox';
import { GhIssue } from '../src/threads/github-payload.types';
import { issueSnapshot } from '../src/threads/item-snapshot';
import { FlowdockSourceService } from '../src/flowdock/flowdock-source.service';
import { cli } from './support/cli';
import { startTestApp, testEnvironment } from './support/test-app';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A database of its own on the run's server, empty but for the migrations the CLI applies. */
async function withEmptyDatabase(use: (url: string) => Promise<void>): Promise<void> {
  const name = `cli_empty_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: process.env.E2E_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(process.env.E2E_DATABASE_URL!);
    url.pathname = `/${name}`;
    await use(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

describe('npm run cli: help, usage errors and exit codes', () => {
  it('--help, help and no command at all list every command with examples and exit 0, without a database', async () => {
    const unreachable = `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`;
    const runs = await Promise.all(
      [['--help'], ['help'], []].map((args) => cli(args, '', { DATABASE_URL: unreachable })),
    );
    for (const run of runs) {
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('Usage: npm run cli -- <command> [options]');
      expect(run.stdout).toMatch(
        /^ {2}subscriptions add \[options\] <repository> +post the events/m,
      );
      expect(run.stdout).toMatch(/^ {2}subscriptions list \[options\] +list subscriptions/m);
      expect(run.stdout).toMatch(/^ {2}subscriptions remove <id> +remove a subscription/m);
      expect(run.stdout).toContain('Examples:');
      expect(run.stdout).toContain(
        'echo "$FLOW_TOKEN" | npm run cli -- subscriptions add acme/widgets',
      );
      expect(run.stdout).toContain('1 usage error');
    }
    expect(runs[1].stdout).toBe(runs[0].stdout);

    const add = await cli(['subscriptions', 'add', '--help'], '', { DATABASE_URL: unreachable });
    expect(add).toMatchObject({ code: 0, stderr: '' });
    expect(add.stdout).toContain('Usage: npm run cli -- subscriptions add [options] <repository>');
    expect(add.stdout).toContain('--flow-token <token>');
  }, 90_000);

  it('usage errors print one line on stderr and exit 1, before touching the database', async () => {
    const unreachable = `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`;
    const cases: [string[], string][] = [
      [['bogus'], "error: unknown command 'bogus'"],
      [['subscription'], "error: unknown command 'subscription' (Did you mean subscriptions?)"],
      [['subscriptions', 'bogus'], "error: unknown command 'subscriptions bogus'"],
      [['subscriptions', 'list', '--bogus'], "error: unknown option '--bogus'"],
      [['subscriptions', 'remove'], "error: missing required argument 'id'"],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args, '', { DATABASE_URL: unreachable });
      expect({ args, ...run }).toEqual({ args, code: 1, stdout: '', stderr: `${message}\n` });
    }
  }, 90_000);

  it('an empty list says so (and --json prints [])', async () => {
    await withEmptyDatabase(async (url) => {
      const listed = await cli(['subscriptions', 'list'], '', { DATABASE_URL: url });
      expect(listed).toEqual({ code: 0, stdout: 'No subscriptions.\n', stderr: '' });
      const json = await cli(['subscriptions', 'list', '--json'], '', { DATABASE_URL: url });
      expect(json).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    });
  }, 90_000);

  it('runtime errors exit 2 with one line per failure: database unreachable, bad configuration', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const port = await closedPort();
    const started = Date.now();
    const unreachable = await cli(['subscriptions', 'list'], '', {
      DATABASE_URL: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stdout).toBe('');
    expect(unreachable.stderr).toBe(
      `error: cannot open the database: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(unreachable.stderr).not.toContain(password);
    // No retries: the server's half minute of reconnecting is not the CLI's.
    expect(Date.now() - started).toBeLessThan(25_000);

    const misconfigured = await cli(['subscriptions', 'list'], '', {
      NODE_ENV: 'production',
      DATABASE_URL: 'not a url',
    });
    expect(misconfigured.code).toBe(2);
    expect(misconfigured.stdout).toBe('');
    const lines = misconfigured.stderr.trimEnd().split('\n');
    expect(lines).toContain('error: invalid configuration: DATABASE_URL: must be a URL address');
    for (const line of lines) expect(line).toMatch(/^error: invalid configuration: [A-Z_]+: /);
  }, 90_000);
});

describe('npm run cli -- subscriptions', () => {
  const owner = `cli${randomBytes(4).toString('hex')}`;
  const token = `flow-token-${randomBytes(8).toString('hex')}`;

  it('add (token from stdin) -> list shows it without the token -> remove -> gone', async () => {
    const added = await cli(
      [
        'subscriptions',
        'add',
        `${owner}/*`,
        '--events',
        'pull_request,issues.opened',
        '--ignore-bots',
        '--labels',
        'bug',
        '--exclude-labels',
        'wip,skip-chat',
        '--exclude-users',
        'dependabot*,*[bot]',
        '--drafts',
        'announce',
        '--json',
      ],
      `${token}\n`,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const subscription = JSON.parse(added.stdout) as { id: string; sourceId: string };
    expect(subscription).toMatchObject({
      repositoryPattern: `${owner}/*`,
      eventKinds: ['pull_request', 'issues.opened'],
      ignoreBots: true,
      requiredLabels: ['bug'],
      excludeLabels: ['wip', 'skip-chat'],
      excludeUsers: ['dependabot*', '*[bot]'],
      drafts: 'announce',
    });
    expect(added.stdout).not.toContain(token);

    // Registered as a Flowdock source, stored encrypted: the token does not appear in the row.
    const db = new Client({ connectionString: process.env.E2E_DATABASE_URL });
    await db.connect();
    const rows = await db.query<{ flow_token_encrypted: string }>(
      'SELECT flow_token_encrypted FROM flowdock_source WHERE id = $1',
      [subscription.sourceId],
    );
    await db.end();
    expect(rows.rows[0].flow_token_encrypted).toMatch(/^v1\./);
    expect(rows.rows[0].flow_token_encrypted).not.toContain(token);

    const listed = await cli(['subscriptions', 'list']);
    expect(listed.code).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(subscription.id));
    expect(line).toContain(`${owner}/*`);
    expect(line).toContain(
      'events=pull_request,issues.opened ignore-bots labels=bug exclude-labels=wip,skip-chat ' +
        'exclude-users=dependabot*,*[bot] drafts=announce',
    );
    expect(listed.stdout).not.toContain(token);

    const removed = await cli(['subscriptions', 'remove', subscription.id]);
    expect(removed.code).toBe(0);
    expect((await cli(['subscriptions', 'list'])).stdout).not.toContain(subscription.id);
  });

  it('refuses a bad pattern and an empty token with a readable message and exit code 1', async () => {
    const res = await cli(['subscriptions', 'add', 'not-a-repo'], '');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('"not-a-repo" is not a repository: use owner/repo or owner/*');
    expect(res.stderr).toContain('the flow token is empty');
    const drafts = await cli(['subscriptions', 'add', `${owner}/x`, '--drafts', 'never'], 'tok');
    expect(drafts.code).toBe(1);
    expect(drafts.stderr).toContain('drafts must be announce or when-ready');
  });

  it('the same repository and flow twice is refused', async () => {
    const args = ['subscriptions', 'add', `${owner}/again`, '--flow-token', token];
    expect((await cli(args)).code).toBe(0);
    const twice = await cli(args);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already posts to that flow/);
  });

  it('remove of an unknown id says so', async () => {
    const res = await cli(['subscriptions', 'remove', '00000000-0000-4000-8000-000000000000']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('error: No subscription 00000000-0000-4000-8000-000000000000\n');
  });
});

describe('npm run cli -- tokens rotate', () => {
  const key = () => randomBytes(32).toString('base64url');

  it('re-encrypts every stored token with the current key; tokens under an unknown key fail it (exit 2)', async () => {
    await withEmptyDatabase(async (url) => {
      const [oldKey, newKey] = [key(), key()];
      const flowToken = `flow-${randomBytes(8).toString('hex')}`;
      const tokens = {
        accessToken: `gho_${randomBytes(8).toString('hex')}`,
        refreshToken: `ghr_${randomBytes(8).toString('hex')}`,
        scopes: ['repo'],
      };
      const env = (encryptionKey: string, decryptionKeys = '') =>
        testEnvironment({
          DATABASE_URL: url,
          TOKEN_ENCRYPTION_KEY: encryptionKey,
          TOKEN_DECRYPTION_KEYS: decryptionKeys,
          FLOWDOCK_DELIVERY_POLL_MS: '0',
        });

      // Stored under the old key: a Flowdock source and a link with both GitHub tokens.
      const before = await startTestApp(env(oldKey));
      const source = await before.app.get(FlowdockSourceService).register({ flowToken });
      await before.app.get(LinkedAccountService).link({
        flowdockUserId: 'rotating-user',
        claimJti: randomUUID(),
        github: { id: 4242, login: 'rotating' },
        tokens,
      });
      await before.app.close();

      const rotated = await cli(['tokens', 'rotate'], '', {
        DATABASE_URL: url,
        TOKEN_ENCRYPTION_KEY: newKey,
        TOKEN_DECRYPTION_KEYS: oldKey,
      });
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toContain(
        'Re-encrypted 3 stored token(s) with the current key; 0 already used it.',
      );
      expect(rotated.stdout).toContain('they can leave TOKEN_DECRYPTION_KEYS');

      // The new key alone reads everything.
      const after = await startTestApp(env(newKey));
      try {
        expect(await after.app.get(FlowdockSourceService).flowToken(source.id)).toBe(flowToken);
        expect(await after.app.get(LinkedAccountService).actingAs('rotating-user')).not.toBeNull();
      } finally {
        await after.app.close();
      }

      // Again, with a key that never encrypted them and without the one that did.
      const again = await cli(['tokens', 'rotate'], '', {
        DATABASE_URL: url,
        TOKEN_ENCRYPTION_KEY: key(),
      });
      expect(again.code).toBe(2);
      expect(again.stdout).toContain('Re-encrypted 0 stored token(s)');
      expect(again.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^error: 3 stored token\(s\) could not be decrypted/),
      ]);
    });
  }, 120_000);
});

describe('npm run cli -- deliveries', () => {
  it('lists dead letters and sends the chosen ones again; lists and enables sources; bad ids are usage errors', async () => {
    await withEmptyDatabase(async (url) => {
      // A message Flowdock refused, as the delivery worker records one.
      const app = await startTestApp(
        testEnvironment({ DATABASE_URL: url, FLOWDOCK_DELIVERY_POLL_MS: '0' }),
      );
      let messageId: string;
      let source: { id: string };
      try {
        source = await app.app
          .get(FlowdockSourceService)
          .register({ flowToken: `flow-${randomBytes(8).toString('hex')}` });
        const snapshot = examplePayload('issues', 'opened');
        const published = await app.app.get(DataSource).transaction((manager) =>
          app.app.get(FlowdockDeliveryService).publish(manager, {
            sourceId: source.id,
            event: 'activity',
            title: 'opened issue',
            author: { name: 'octocat' },
            snapshot: issueSnapshot(snapshot.issue as GhIssue, 'acme/dead-letters'),
          }),
        );
        messageId = published.messageId;
        await app.app.get(FlowdockOutbox).markDead(messageId, 'Flowdock answered 400: bad thread');
        await app.app.get(FlowdockSourceService).disable(source.id, 'Flowdock answered 410 Gone');
      } finally {
        await app.app.close();
      }

      const listed = await cli(['deliveries', 'dead'], '', { DATABASE_URL: url });
      expect(listed.code).toBe(0);
      expect(listed.stdout.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${messageId}\\t\\S+\\tsource:${source.id}\\t.+\\tattempts:\\d+\\tFlowdock answered 400: bad thread$`,
          ),
        ),
      ]);

      const badId = await cli(['deliveries', 'redrive', '--id', '0x10'], '', { DATABASE_URL: url });
      expect(badId).toMatchObject({ code: 1, stderr: 'error: --id 0x10 is not a message id\n' });

      const redriven = await cli(['deliveries', 'redrive', '--id', messageId], '', {
        DATABASE_URL: url,
      });
      expect(redriven).toMatchObject({
        code: 0,
        stdout: expect.stringContaining('Queued 1 dead letter(s)'),
      });
      const empty = await cli(['deliveries', 'dead'], '', { DATABASE_URL: url });
      expect(empty).toMatchObject({ code: 0, stdout: 'No dead letters.\n' });

      // The source Flowdock disabled: listed as such, enabled again by id.
      const sources = () => cli(['sources', 'list'], '', { DATABASE_URL: url });
      expect((await sources()).stdout).toMatch(
        new RegExp(
          `^${source.id}\\t-\\t-\\tdisabled since \\S+: Flowdock answered 410 Gone\\treplies: no stream token\\n$`,
        ),
      );
      const enabled = await cli(['sources', 'enable', source.id], '', { DATABASE_URL: url });
      expect(enabled).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Enabled /) });
      expect((await sources()).stdout).toBe(
        `${source.id}\t-\t-\tactive\treplies: no stream token\n`,
      );
      const notAnId = await cli(['sources', 'enable', 'nope'], '', { DATABASE_URL: url });
      expect(notAnId).toMatchObject({ code: 1, stderr: 'error: nope is not a source id\n' });

      // A stream token: never an argument; from stdin or a named variable; the flow must be known.
      const streamToken = `stream-${randomBytes(8).toString('hex')}`;
      const noFlow = await cli(['sources', 'stream-token', source.id], streamToken, {
        DATABASE_URL: url,
      });
      expect(noFlow).toMatchObject({ code: 1, stderr: expect.stringContaining('--flow') });
      const badFlow = await cli(['sources', 'stream-token', source.id, '--flow', 'acme'], '', {
        DATABASE_URL: url,
      });
      expect(badFlow.code).toBe(1);
      const noToken = await cli(['sources', 'stream-token', source.id, '--flow', 'acme/main'], '', {
        DATABASE_URL: url,
      });
      expect(noToken).toMatchObject({ code: 1, stderr: 'error: No token on stdin\n' });
      const set = await cli(
        ['sources', 'stream-token', source.id, '--flow', 'acme/main'],
        `${streamToken}\n`,
        { DATABASE_URL: url },
      );
      expect(set).toMatchObject({ code: 0, stdout: expect.stringContaining('(acme/main)') });
      expect((await sources()).stdout).toBe(
        `${source.id}\tacme/main\t-\tactive\treplies: stream token set\n`,
      );
      const fromEnv = await cli(
        ['sources', 'stream-token', source.id, '--token-env', 'MY_TOKEN'],
        '',
        {
          DATABASE_URL: url,
          MY_TOKEN: `${streamToken}-2`,
        },
      );
      expect(fromEnv.code).toBe(0);
      const db = new Client({ connectionString: url });
      await db.connect();
      try {
        const { rows } = await db.query(
          `SELECT stream_token_encrypted AS token FROM flowdock_source WHERE id = $1`,
          [source.id],
        );
        expect(rows[0].token).toMatch(/\S/);
        expect(JSON.stringify(rows)).not.toContain(streamToken);
      } finally {
        await db.end();
      }
      for (const run of [noFlow, set, fromEnv]) {
        expect(run.stdout + run.stderr).not.toContain(streamToken);
      }
    });
  }, 120_000);
});
