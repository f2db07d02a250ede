import { Controller, Get, Module, Res } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';

@Controller('test')
class CookieController {
  @Get('cookie')
  cookie(@Res() reply: FastifyReply) {
    void reply.header('set-cookie', 'session=sekret-set-cookie-value; HttpOnly').send({ ok: true });
  }
}

/** Issue text as it would be bound to a query. */
const ISSUE_TEXT = 'sekret issue body that must stay out of logs';

@Controller('test')
class FailingQueryController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A query that fails on its bound value: PostgreSQL quotes the row in `detail`. */
  @Get('failing-query')
  async failingQuery() {
    await this.dataSource.transaction(async (manager) => {
      await manager.query(
        'CREATE TEMP TABLE log_probe (body text NOT NULL CHECK (length(body) < 5)) ON COMMIT DROP',
      );
      await manager.query('INSERT INTO log_probe (body) VALUES ($1)', [ISSUE_TEXT]);
    });
  }
}

@Module({ controllers: [CookieController, FailingQueryController] })
class CookieModule {}

type LogEntry = Record<string, unknown> & { level: number; msg: string };

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

  const linesOf = (id: string) => t.logs.filter((line) => line.includes(id));

  it('a refused Flowdock action logs one short line with the request id and reason, no headers', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/flowdock/actions/acme/widgets/issues/5/close',
      headers: {
        'x-request-id': 'log-refused-1',
        'flowdock-token': 'not-a-token',
        'user-agent': 'agent-that-must-not-be-logged',
        'content-type': 'application/json',
      },
      payload: '{}',
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);

    const lines = linesOf('log-refused-1');
    expect(lines).toHaveLength(1);
    expect(lines[0].length).toBeLessThan(400);
    const entry = JSON.parse(lines[0]) as LogEntry;
    expect(entry).toMatchObject({
      requestId: 'log-refused-1',
      msg: 'request refused',
      method: 'POST',
      url: '/flowdock/actions/acme/widgets/issues/5/close',
      statusCode: res.statusCode,
      reason: res.json<{ message: string }>().message,
    });
    expect([30, 40]).toContain(entry.level);
    expect(entry).not.toHaveProperty('req');
    expect(lines[0]).not.toContain('agent-that-must-not-be-logged');
    expect(lines[0]).not.toContain('headers');
  });

  it('an unknown route logs one short info line', async () => {
    await t.app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'log-404' } });
    const lines = linesOf('log-404');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 30,
      statusCode: 404,
      msg: 'request refused',
    });
    expect(lines[0]).not.toContain('headers');
  });

  it('an error page logs its heading as the reason, and no line of the request has headers', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/authorization',
      headers: { 'x-request-id': 'log-page-1', 'user-agent': 'page-agent-not-logged' },
    });
    expect(res.statusCode).toBe(400);
    const entries = linesOf('log-page-1').map((line) => JSON.parse(line) as LogEntry);
    expect(entries).toContainEqual(
      expect.objectContaining({ msg: 'request refused', reason: 'This link is incomplete' }),
    );
    expect(entries.every((e) => e.requestId === 'log-page-1')).toBe(true);
    expect(linesOf('log-page-1').join('\n')).not.toMatch(/headers|page-agent-not-logged/);
  });

  it('logs a failed query without the values bound to it', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/test/failing-query',
      headers: { 'x-request-id': 'log-db-1' },
    });
    expect(res.statusCode).toBe(500);
    const errors = linesOf('log-db-1')
      .map((line) => JSON.parse(line) as LogEntry & { err?: { query?: string } })
      .filter((entry) => entry.err?.query?.includes('log_probe'));
    // The error is logged, with its query (the SQL, placeholders only)...
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0].err).toMatchObject({ code: '23514', query: expect.stringContaining('$1') });
    // ...but neither its parameters nor PostgreSQL's quote of the failing row.
    expect(t.logs.join('\n')).not.toContain('sekret issue body');
  });
});
