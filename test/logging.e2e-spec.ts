import { Controller, Get, Module, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';

@Controller('test')
class CookieController {
  @Get('cookie')
  cookie(@Res() reply: FastifyReply) {
    void reply.header('set-cookie', 'session=sekret-set-cookie-value; HttpOnly').send({ ok: true });
  }
}

@Module({ controllers: [CookieController] })
class CookieModule {}

describe('request logging', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(testEnvironment(), [CookieModule]);
  });
  afterAll(() => t?.app.close());

  it('logs each request with its id and none of the sensitive header or query values', async () => {
    const secrets = {
      authorization: 'Bearer sekret-authorization-value',
      'flowdock-token': 'sekret-flowdock-token-value',
      cookie: 'session=sekret-cookie-value',
      claim: 'sekret-claim-value',
      code: 'sekret-code-value',
      state: 'sekret-state-value',
      access_token: 'sekret-access-token-value',
    };
    const res = await t.app.inject({
      method: 'GET',
      url:
        `/health/live?claim=${secrets.claim}&code=${secrets.code}` +
        `&state=${secrets.state}&access_token=${secrets.access_token}&page=2`,
      headers: {
        authorization: secrets.authorization,
        'flowdock-token': secrets['flowdock-token'],
        cookie: secrets.cookie,
        'x-request-id': 'log-test-1',
      },
    });
    expect(res.statusCode).toBe(200);

    const lines = t.logs.filter((line) => line.includes('log-test-1'));
    expect(lines.length).toBeGreaterThan(0);
    const entry = JSON.parse(lines[0]) as {
      req: { id: string; url: string; headers: Record<string, string> };
    };
    expect(entry.req.id).toBe('log-test-1');
    expect(entry.req.url).toContain('page=2');
    expect(entry.req.url).toContain('claim=[Redacted]');
    expect(entry.req.headers.authorization).toBe('[Redacted]');

    const everything = t.logs.join('\n');
    for (const value of Object.values(secrets)) {
      expect(everything).not.toContain(value.replace(/^(Bearer |session=)/, ''));
    }
  });

  it('redacts set-cookie on responses', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/test/cookie',
      headers: { 'x-request-id': 'log-test-2' },
    });
    expect(res.headers['set-cookie']).toContain('sekret-set-cookie-value');
    const line = t.logs.find((l) => l.includes('log-test-2') && l.includes('request completed'));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!) as { res: { headers: Record<string, string> } };
    expect(entry.res.headers['set-cookie']).toBe('[Redacted]');
    expect(t.logs.join('\n')).not.toContain('sekret-set-cookie-value');
  });
});
