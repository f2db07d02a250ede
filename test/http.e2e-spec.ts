import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';

/** Routes that exist only in this test, to reach the body parser and the filter. */
@Controller('test')
class ProbeController {
  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown) {
    return { received: body };
  }

  @Get('boom')
  boom(): never {
    throw new Error('connect ECONNREFUSED 10.1.2.3:5432 (user=bridge password=hunter2)');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

const expectErrorShape = (body: unknown, statusCode: number, error: string) => {
  expect(body).toEqual({ statusCode, error, message: expect.any(String) });
};

describe('HTTP errors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(testEnvironment({ BODY_LIMIT: '2048', WEBHOOK_BODY_LIMIT: '16384' }), [
      ProbeModule,
    ]);
  });
  afterAll(() => t?.app.close());

  it('accepts JSON within the limit', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { a: 1 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: { a: 1 } });
  });

  it('malformed JSON -> 400', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a": ',
    });
    expect(res.statusCode).toBe(400);
    expectErrorShape(res.json(), 400, 'Bad Request');
  });

  it('unsupported content type -> 415', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(res.statusCode).toBe(415);
    expectErrorShape(res.json(), 415, 'Unsupported Media Type');
  });

  it('body over the configured limit -> 413', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(4096) }),
    });
    expect(res.statusCode).toBe(413);
    expectErrorShape(res.json(), 413, 'Payload Too Large');
  });

  it('unknown route -> 404 JSON', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/nowhere' });
    expect(res.statusCode).toBe(404);
    expectErrorShape(res.json(), 404, 'Not Found');
  });

  it('an unexpected error -> 500 without internals, logged with the request id', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/test/boom',
      headers: { 'x-request-id': 'boom-req-1' },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
    });
    expect(res.body).not.toMatch(/ECONNREFUSED|hunter2|at .*\.ts/);
    expect(res.headers['x-request-id']).toBe('boom-req-1');
    const errorLine = t.logs
      .map((line) => JSON.parse(line) as { level: number; req?: { id: string }; err?: unknown })
      .find((entry) => entry.level === 50 && entry.req?.id === 'boom-req-1' && entry.err);
    expect(errorLine).toBeDefined();
  });

  it('webhooks have their own, larger limit (GitHub sends up to 25 MB)', async () => {
    const secret = t.config.github.webhookSecret;
    const url = '/github/webhooks';
    const ping = (padding: number) =>
      signedWebhook(secret, 'ping', { ...examplePayload('ping'), zen: 'z'.repeat(padding) });

    const over2k = ping(8_000);
    const accepted = await t.app.inject({
      method: 'POST',
      url,
      headers: over2k.headers,
      payload: over2k.body,
    });
    expect(accepted.statusCode).toBeLessThan(300);

    const overLimit = ping(20_000);
    const refused = await t.app.inject({
      method: 'POST',
      url,
      headers: overLimit.headers,
      payload: overLimit.body,
    });
    expect(refused.statusCode).toBe(413);
    expectErrorShape(refused.json(), 413, 'Payload Too Large');
  });
});
