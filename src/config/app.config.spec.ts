import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app.config';
import { DEV_SECRETS_FILE, SECRET_VARIABLES } from './secrets';

/** A generated-looking secret, different for each seed. */
const strong = (seed: string) => `${seed}-${createHash('sha256').update(seed).digest('base64url')}`;

const productionEnv = (): Record<string, string> => ({
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://bridge.acme.test',
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

/** The one problem of a production environment with `name` set to `value`: it names the variable. */
function onlyProblem(name: string, value: string): string {
  const problems = problemsOf({ ...productionEnv(), [name]: value });
  expect(problems).toHaveLength(1);
  expect(problems[0].split(':')[0]).toBe(name);
  return problems[0];
}

describe('loadConfig', () => {
  it('accepts a complete production environment and applies defaults', () => {
    const { config, warnings } = loadConfig(productionEnv());
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'https://bridge.acme.test',
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
    ['filled-in template', 'your-secret-here-make-it-long-enough-please', 'placeholder'],
    ['repeated', 'x'.repeat(40), 'one repeated character'],
    ['word repeated', 'secret'.repeat(8), 'fewer than 10 different characters'],
    ['pattern repeated', 'Tr0ub4dor&3!'.repeat(4), 'a short pattern repeated'],
    ['counting', '1234567890123456789abcdefghijklmnop', 'consecutive characters'],
    ['alphabet', 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ', 'consecutive characters'],
  ])('refuses a %s secret in production without echoing it', (_kind, value, reason) => {
    const problem = onlyProblem('COOKIE_SECRET', value);
    expect(problem).toContain(reason);
    if (value) expect(problem).not.toContain(value);
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

  it('reads the stream settings: defaults, a flow with its token, and what cannot work', () => {
    expect(loadConfig(productionEnv()).config.flowdock.stream).toEqual({
      url: 'https://stream.flowdock.com',
      flow: undefined,
      token: undefined,
      checkMs: 5000,
    });
    const { config } = loadConfig({
      ...productionEnv(),
      FLOWDOCK_FLOW_TOKEN: 'flow-token-1',
      FLOWDOCK_FLOW: 'acme/main',
      FLOWDOCK_STREAM_TOKEN: 'stream-secret-value',
      FLOWDOCK_STREAM_URL: 'https://stream.acme.test/',
    });
    expect(config.flowdock.stream).toMatchObject({
      url: 'https://stream.acme.test',
      flow: 'acme/main',
      token: 'stream-secret-value',
    });
    const problems = problemsOf({
      ...productionEnv(),
      FLOWDOCK_STREAM_TOKEN: 'stream-secret-value',
      FLOWDOCK_STREAM_URL: 'stream.acme.test',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'FLOWDOCK_STREAM_TOKEN',
      'FLOWDOCK_STREAM_URL',
    ]);
    expect(problems.join('\n')).not.toContain('stream-secret-value');
    expect(problemsOf({ ...productionEnv(), FLOWDOCK_FLOW: 'acme' })[0]).toMatch(/^FLOWDOCK_FLOW:/);
    expect(problemsOf({ ...productionEnv(), FLOWDOCK_FLOW: 'acme/main' })[0]).toMatch(
      /^FLOWDOCK_FLOW: .*FLOWDOCK_FLOW_TOKEN/,
    );
  });

  it('strips trailing slashes from base URLs', () => {
    const { config } = loadConfig({
      ...productionEnv(),
      PUBLIC_URL: 'https://bridge.acme.test/',
      GITHUB_API_URL: 'https://ghe.acme.test/api/v3/',
    });
    expect(config.publicUrl).toBe('https://bridge.acme.test');
    expect(config.github.apiUrl).toBe('https://ghe.acme.test/api/v3');
  });

  it('accepts a generated secret that happens to hold a short word of a template', () => {
    // "your-" and "Your_" turn up in about one random base64url secret in a million.
    for (const value of [
      'Q3vYour_k9ZpL2mX8tR4wB7nC1dF6gH0jK5sV-aE',
      'h7Tq-your-Zx2Lp9MwR4bN8cV1dK6fG3jS0yA5eU',
    ]) {
      expect(loadConfig({ ...productionEnv(), COOKIE_SECRET: value }).warnings).toEqual([]);
    }
  });

  it('accepts generated secrets: random bytes in base64url and hex never look weak', () => {
    for (let i = 0; i < 200; i++) {
      for (const encoding of ['base64url', 'hex'] as const) {
        const value = randomBytes(32).toString(encoding);
        expect({
          value,
          problems: loadConfig({ ...productionEnv(), COOKIE_SECRET: value }).warnings,
        }).toEqual({ value, problems: [] });
      }
    }
  });

  it('refuses one value in two secret variables, naming both and not the value', () => {
    const env = productionEnv();
    const problems = problemsOf({ ...env, TOKEN_ENCRYPTION_KEY: env.COOKIE_SECRET });
    expect(problems).toEqual([
      'COOKIE_SECRET and TOKEN_ENCRYPTION_KEY: the same value; each needs its own',
    ]);
  });

  it('METRICS_TOKEN is optional; when set, it is held to the rules of the secrets', () => {
    expect(loadConfig(productionEnv()).config.metricsToken).toBeUndefined();
    const token = strong('metrics');
    expect(loadConfig({ ...productionEnv(), METRICS_TOKEN: token }).config.metricsToken).toBe(
      token,
    );
    expect(problemsOf({ ...productionEnv(), METRICS_TOKEN: 'metrics' })).toEqual([
      'METRICS_TOKEN: too weak (shorter than 32 bytes)',
    ]);
    const env = productionEnv();
    expect(problemsOf({ ...env, METRICS_TOKEN: env.GITHUB_WEBHOOK_SECRET })).toEqual([
      'GITHUB_WEBHOOK_SECRET and METRICS_TOKEN: the same value; each needs its own',
    ]);
    const dev = loadConfig({ ...productionEnv(), NODE_ENV: 'development', METRICS_TOKEN: 'x' });
    expect(dev.warnings).toContainEqual(expect.stringMatching(/^METRICS_TOKEN is weak/));
  });

  it.each([
    ['the example of .env.example', 'https://bridge.example.org', 'an example domain'],
    ['another example domain', 'https://example.com', 'an example domain'],
    ['plain http', 'http://bridge.acme.test', 'must be https'],
  ])('refuses %s as PUBLIC_URL in production', (_kind, url, reason) => {
    expect(onlyProblem('PUBLIC_URL', url)).toContain(reason);
  });

  it('accepts an http PUBLIC_URL in production with ALLOW_HTTP_PUBLIC_URL=1', () => {
    const { config } = loadConfig({
      ...productionEnv(),
      PUBLIC_URL: 'http://bridge.internal.acme.test',
      ALLOW_HTTP_PUBLIC_URL: '1',
    });
    expect(config.publicUrl).toBe('http://bridge.internal.acme.test');
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
