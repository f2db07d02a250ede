import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app.config';
import { DEV_SECRETS_FILE, SECRET_VARIABLES } from './secrets';

const strong = (seed: string) => `${seed}-${'k9Qz'.repeat(10)}`;

const productionEnv = (): Record<string, string> => ({
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://bridge.example.org',
  DATA_DIR: mkdtempSync(join(tmpdir(), 'config-')),
  FLOWDOCK_CLIENT_ID: 'flowdock-app',
  FLOWDOCK_CLIENT_SECRET: strong('fd'),
  COOKIE_SECRET: strong('cookie'),
  TOKEN_ENCRYPTION_KEY: strong('key'),
  GITHUB_WEBHOOK_SECRET: strong('hook'),
  GITHUB_CLIENT_ID: 'github-app',
  GITHUB_CLIENT_SECRET: strong('gh'),
});

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('accepts a complete production environment and applies defaults', () => {
    const { config, warnings } = loadConfig(productionEnv());
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'https://bridge.example.org',
      databaseUrl: undefined,
      bodyLimit: 1024 * 1024,
      flowdock: { apiUrl: 'https://api.flowdock.com', clientId: 'flowdock-app' },
      github: { url: 'https://github.com', apiUrl: 'https://api.github.com' },
    });
  });

  it('names every missing secret in production at once', () => {
    const env = productionEnv();
    for (const name of [
      ...SECRET_VARIABLES,
      'FLOWDOCK_CLIENT_ID',
      'GITHUB_CLIENT_ID',
      'PUBLIC_URL',
    ]) {
      delete env[name];
    }
    const problems = problemsOf(env);
    for (const name of [
      ...SECRET_VARIABLES,
      'FLOWDOCK_CLIENT_ID',
      'GITHUB_CLIENT_ID',
      'PUBLIC_URL',
    ]) {
      expect(problems.some((p) => p.startsWith(`${name}:`))).toBe(true);
    }
    expect(problems).toHaveLength(SECRET_VARIABLES.length + 3);
  });

  it.each([
    ['empty', '', 'required in production'],
    ['short', 'a-short-secret', 'shorter than 32 bytes'],
    ['placeholder', 'changeme-changeme-changeme-changeme-changeme', 'placeholder'],
    ['template', '<your webhook secret goes here, 32+ chars>', 'placeholder'],
    ['repeated', 'x'.repeat(40), 'one repeated character'],
  ])('refuses a %s secret in production without echoing it', (_kind, value, reason) => {
    const problems = problemsOf({ ...productionEnv(), COOKIE_SECRET: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^COOKIE_SECRET:/);
    expect(problems[0]).toContain(reason);
    if (value) expect(problems[0]).not.toContain(value);
  });

  it('names malformed variables without their values', () => {
    const problems = problemsOf({
      ...productionEnv(),
      PORT: 'eighty',
      GITHUB_API_URL: 'ftp://nope',
      DATABASE_URL: 'mysql://db/x',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'GITHUB_API_URL',
      'PORT',
    ]);
    expect(problems.join('\n')).not.toMatch(/eighty|ftp:|mysql:/);
  });

  it('strips trailing slashes from base URLs', () => {
    const { config } = loadConfig({
      ...productionEnv(),
      PUBLIC_URL: 'https://bridge.example.org/',
      GITHUB_API_URL: 'https://ghe.example.org/api/v3/',
    });
    expect(config.publicUrl).toBe('https://bridge.example.org');
    expect(config.github.apiUrl).toBe('https://ghe.example.org/api/v3');
  });

  describe('outside production', () => {
    it('generates missing secrets once into DATA_DIR (mode 0600) and reuses them', () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'config-dev-'));
      const first = loadConfig({ DATA_DIR: dataDir, PORT: '4000' });
      expect(first.warnings.join('\n')).toContain('COOKIE_SECRET');
      expect(first.config.publicUrl).toBe('http://localhost:4000');
      expect(Buffer.byteLength(first.config.cookieSecret)).toBeGreaterThanOrEqual(32);
      expect(first.config.cookieSecret).not.toBe(first.config.tokenEncryptionKey);

      const file = join(dataDir, DEV_SECRETS_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const second = loadConfig({ DATA_DIR: dataDir });
      expect(second.warnings).toEqual([]);
      expect(second.config.cookieSecret).toBe(first.config.cookieSecret);
      expect(second.config.github.webhookSecret).toBe(first.config.github.webhookSecret);
      expect(second.config.flowdock.clientId).toBe(first.config.flowdock.clientId);
    });

    it('prefers explicit secrets and does not store them', () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'config-dev-'));
      const cookie = strong('explicit');
      const { config } = loadConfig({ DATA_DIR: dataDir, COOKIE_SECRET: cookie });
      expect(config.cookieSecret).toBe(cookie);
      expect(readFileSync(join(dataDir, DEV_SECRETS_FILE), 'utf8')).not.toContain(cookie);
    });

    it('accepts a weak explicit secret with a warning', () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'config-dev-'));
      const { config, warnings } = loadConfig({ DATA_DIR: dataDir, COOKIE_SECRET: 'short' });
      expect(config.cookieSecret).toBe('short');
      expect(warnings.some((w) => w.startsWith('COOKIE_SECRET is weak'))).toBe(true);
    });
  });
});
