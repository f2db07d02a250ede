import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';

const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
  version: string;
};
const FLOWDOCK_API_URL = 'http://flowdock-simulator.test:4001/api?tenant=a&x=1';
const secret = () => randomBytes(32).toString('base64url');

describe('GET /: what this service is', () => {
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    const through = await TcpProxy.inFrontOf(process.env.E2E_DATABASE_URL!);
    proxy = through.proxy;
    t = await startTestApp(
      testEnvironment({
        DATABASE_URL: through.url,
        PUBLIC_URL: 'http://bridge.test:3000',
        FLOWDOCK_API_URL,
        GITHUB_URL: 'http://github-simulator.test:4002',
      }),
    );
  });
  afterAll(async () => {
    await t?.app.close();
    await proxy?.stop();
  });

  const home = () => t.app.inject({ method: 'GET', url: '/' });

  it('is an HTML page with the version, readiness and where to go', async () => {
    const res = await home();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<h1>Flowdock–GitHub bridge</h1>');
    expect(res.body).toContain(`<dd id="version">${version}</dd>`);
    expect(res.body).toMatch(/id="readiness"><span class="ok">Ready<\/span>/);
    expect(res.body).toContain('href="/account"');
    expect(res.body).toContain('href="/flowdock/setup"');
    expect(res.body).toContain('<code>http://bridge.test:3000/flowdock/setup</code>');
    expect(res.body).toContain('<code>http://bridge.test:3000/github/webhooks</code>');
  });

  it('sends the headers of the other pages: not cached, no referrer, nothing from elsewhere', async () => {
    const res = await home();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.body).not.toMatch(/<script|src=/);
  });

  it('in test (and development) names the URLs it is configured for, escaped', async () => {
    const res = await home();
    expect(res.body).toContain('id="services"');
    expect(res.body).toContain('http://flowdock-simulator.test:4001/api?tenant=a&amp;x=1');
    expect(res.body).not.toContain('tenant=a&x=1');
    expect(res.body).toContain('http://github-simulator.test:4002');
  });

  it('shows no secret, database URL or client id', async () => {
    const res = await home();
    const { config } = t;
    for (const value of [
      config.cookieSecret,
      config.tokenEncryptionKey,
      config.flowdock.clientId,
      config.flowdock.clientSecret,
      config.github.clientId,
      config.github.clientSecret,
      config.github.webhookSecret,
      config.databaseUrl!,
    ]) {
      expect(res.body).not.toContain(value);
    }
  });

  it('says "Not ready" and names the failing check while the database is away', async () => {
    await proxy.stop();
    try {
      const res = await home();
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/<span class="down">Not ready<\/span>: failing [a-z, ]*database/);
    } finally {
      await proxy.start();
    }
    let body = '';
    for (let i = 0; i < 20 && !body.includes('class="ok"'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      body = (await home()).body;
    }
    expect(body).toContain('<span class="ok">Ready</span>');
  });
});

describe('GET / in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      testEnvironment({
        NODE_ENV: 'production',
        PUBLIC_URL: 'https://bridge.acme.test',
        FLOWDOCK_API_URL,
        FLOWDOCK_DELIVERY_POLL_MS: '0',
        FLOWDOCK_CLIENT_ID: 'flowdock-app',
        FLOWDOCK_CLIENT_SECRET: secret(),
        COOKIE_SECRET: secret(),
        TOKEN_ENCRYPTION_KEY: secret(),
        GITHUB_WEBHOOK_SECRET: secret(),
        GITHUB_CLIENT_ID: 'github-app',
        GITHUB_CLIENT_SECRET: secret(),
      }),
    );
  });
  afterAll(() => t?.app.close());

  it('does not say which services it is configured for', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`<dd id="version">${version}</dd>`);
    expect(res.body).not.toContain('id="services"');
    expect(res.body).not.toContain('flowdock-simulator.test');
  });
});
