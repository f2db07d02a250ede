import { startTestApp, testEnvironment, TestApp } from './support/test-app';

/**
 * The pages people open to sign in, link and set up are limited per client
 * address (AUTH_RATE_LIMIT a minute); over it, a 429 page with Retry-After.
 */
describe('rate limits on the sign-in, linking and setup pages', () => {
  const apps: TestApp[] = [];
  const start = async (env: Record<string, string>) => {
    const t = await startTestApp(testEnvironment({ FLOWDOCK_DELIVERY_POLL_MS: '0', ...env }));
    apps.push(t);
    return t;
  };
  afterAll(async () => {
    for (const t of apps) await t.app.close();
  });
  const get = (t: TestApp, url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers });

  it('answers 429 with a page and Retry-After once an address is over the limit', async () => {
    const t = await start({ AUTH_RATE_LIMIT: '3' });
    for (let i = 0; i < 3; i++) {
      expect((await get(t, '/authorization?claim=x')).statusCode).toBe(400);
    }
    const refused = await get(t, '/authorization?claim=x');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.body).toContain('Too many requests');
    expect(refused.body).toContain('more than 3 requests in a minute');

    // Other routes have budgets of their own, and the rest of the bridge none.
    expect((await get(t, '/auth/github/callback')).statusCode).toBe(400);
    for (let i = 0; i < 5; i++) expect((await get(t, '/health/live')).statusCode).toBe(200);
  });

  it('counts X-Forwarded-For clients apart only behind a trusted proxy (TRUST_PROXY)', async () => {
    const direct = await start({ AUTH_RATE_LIMIT: '2' });
    const proxied = await start({ AUTH_RATE_LIMIT: '2', TRUST_PROXY: '1' });
    const statuses = async (t: TestApp) => {
      const codes: number[] = [];
      for (const client of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        codes.push(
          (await get(t, '/authorization', { 'x-forwarded-for': client })).statusCode,
          (await get(t, '/authorization', { 'x-forwarded-for': client })).statusCode,
        );
      }
      return codes;
    };
    // Untrusted, the header is ignored: one address, over its limit after two requests.
    expect(await statuses(direct)).toEqual([400, 400, 429, 429, 429, 429]);
    expect(await statuses(proxied)).toEqual([400, 400, 400, 400, 400, 400]);
  });

  it('AUTH_RATE_LIMIT=0 turns the limit off', async () => {
    const t = await start({ AUTH_RATE_LIMIT: '0' });
    for (let i = 0; i < 40; i++) expect((await get(t, '/authorization')).statusCode).toBe(400);
  });
});
