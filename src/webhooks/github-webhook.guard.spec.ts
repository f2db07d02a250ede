import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { signBody, webhookHeaders } from '../../sandbox/github/webhook-sender';
import { GitHubWebhookGuard, GitHubWebhookRefusal } from './github-webhook.guard';
import { WebhookVerifier } from './webhook-verifier';

const SECRET = 'webhook-secret-for-the-guard-spec';
const guard = new GitHubWebhookGuard(
  new WebhookVerifier(new ConfigService({ github: { webhookSecret: SECRET } })),
);

const text = '{"zen":"Keep it logically awesome."}';
const body = Buffer.from(text);

/** A request as Fastify hands it to the route, the body read as bytes. */
function request(headers: Record<string, string | string[]>, bytes: unknown = body) {
  return {
    headers: {
      ...webhookHeaders(SECRET, 'ping', text, '72d3162e-cc78-11e3-81ab-4c9367dc0958'),
      ...headers,
    },
    body: bytes,
  } as unknown as FastifyRequest;
}

function refusalOf(check: () => unknown): GitHubWebhookRefusal {
  try {
    check();
  } catch (error) {
    if (error instanceof GitHubWebhookRefusal) return error;
    throw error;
  }
  throw new Error('The guard let the request through');
}

describe('GitHubWebhookGuard', () => {
  it('lets through a delivery GitHub signed, with its event, id and bytes', () => {
    const delivery = guard.verify(request({}));
    expect(delivery).toEqual({
      event: 'ping',
      deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      body,
      contentType: 'application/json',
    });
  });

  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['APPLICATION/X-WWW-FORM-URLENCODED', true],
    ['application/jsonp', false],
    ['text/plain', false],
  ])('content type %s: accepted %s', (type, accepted) => {
    const check = () => guard.checkContentType(request({ 'content-type': type }));
    if (accepted) expect(check).not.toThrow();
    else
      expect(refusalOf(check).toBody()).toMatchObject({
        statusCode: 415,
        error: 'Unsupported Media Type',
      });
  });

  it('says what GitHub sends when the content type is missing', () => {
    const headers = request({}).headers;
    delete headers['content-type'];
    const refused = refusalOf(() => guard.checkContentType({ headers } as FastifyRequest));
    expect(refused.message).toContain('without a Content-Type');
    expect(refused.message).toContain('application/json or application/x-www-form-urlencoded');
  });

  it('names every missing header in one 400', () => {
    const refused = refusalOf(() =>
      guard.verify(request({ 'x-github-event': '', 'x-hub-signature-256': ['a', 'b'] })),
    );
    expect(refused.toBody()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Missing header X-GitHub-Event, X-Hub-Signature-256: is this a GitHub webhook?',
    });
  });

  it.each([
    [{ 'x-github-event': 'Pull-Request' }, 'X-GitHub-Event is not an event name'],
    [{ 'x-github-delivery': 'a b' }, 'X-GitHub-Delivery is not a delivery id'],
  ])('refuses malformed headers %j', (headers, message) => {
    expect(refusalOf(() => guard.verify(request(headers))).message).toBe(message);
  });

  it.each([
    ['another secret', { 'x-hub-signature-256': signBody('another secret', text) }, body],
    ['other bytes', {}, Buffer.from('{"zen":"Keep it logically awesome!"}')],
    ['no body', {}, null],
    ['a sha1 signature', { 'x-hub-signature-256': `sha1=${'0'.repeat(40)}` }, body],
  ])('refuses a signature over %s with 401 naming the setting', (_case, headers, bytes) => {
    const refused = refusalOf(() => guard.verify(request(headers, bytes)));
    expect(refused.statusCode).toBe(401);
    expect(refused.message).toContain('GITHUB_WEBHOOK_SECRET');
  });
});
