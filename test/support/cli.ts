import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../sandbox/world/processes';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI (as `npm run cli` does after building) against the run's database. */
export function cli(args: string[], stdin = '', env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    // Not the checkout: a developer's .env there would complete this environment.
    cwd: tmpdir(),
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATABASE_URL: process.env.E2E_DATABASE_URL!,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bridge-cli-')),
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
