import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ROOT } from './support/processes';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'cli.js');

/** Runs the compiled CLI (as `npm run cli` does after building) against the run's database. */
function cli(
  args: string[],
  stdin = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATABASE_URL: process.env.E2E_DATABASE_URL!,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bridge-cli-')),
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

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
    expect(line).toContain('events=pull_request,issues.opened ignore-bots labels=bug');
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
    expect(res.stderr).toContain('No subscription 00000000-0000-4000-8000-000000000000');
  });
});
