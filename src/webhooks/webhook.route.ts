import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { AllExceptionsFilter } from '../http/all-exceptions.filter';
import { refusalReason } from '../logging/refusals';
import { Metrics } from '../metrics/metrics';
import { InboxEntry, intake } from './delivery-intake';
import { logDelivery } from './delivery-outcome';
import { AppendResult, InboxUnavailableError, WebhookInbox } from './webhook-inbox';
import { requireGitHubContentType } from './webhook-content-type';
import { WebhookVerifier } from './webhook-verifier';

const WEBHOOK_PATH = '/github/webhooks';

const EVENT_NAME = /^[a-z_]{1,64}$/;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const FORM = /^application\/x-www-form-urlencoded/i;

/** Seconds GitHub (or a person redelivering) should wait when the inbox cannot store a delivery. */
const RETRY_AFTER_SECONDS = 30;

/** A request the route refuses, with what the client is told. */
class Refusal extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/**
 * GitHub's payload, parsed only once its signature is known to be good: the
 * JSON body, or the `payload` field of a form-encoded one. `JSON.parse` makes
 * a `__proto__` key an own property, and nothing merges the payload into
 * other objects (intake reads named fields).
 */
function parsePayload(body: Buffer, contentType: string): object {
  let text = body.toString('utf8');
  if (FORM.test(contentType)) {
    const field = new URLSearchParams(text).get('payload');
    if (field === null) throw new Refusal(400, 'The form has no "payload" field');
    text = field;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    throw new Refusal(400, 'The webhook body is not valid JSON');
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new Refusal(400, 'The webhook body must be a JSON object');
  }
  return payload;
}

/**
 * The inbox entry of a request whose signature is good. A function of its
 * own, not inline in the handler: the parsed payload then never lives in the
 * handler's frame, which is kept through the wait for the commit.
 */
function verifiedEntry(
  request: FastifyRequest,
  verifier: WebhookVerifier,
  deliveryId: string,
  event: string,
  signature: string,
): InboxEntry {
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  if (!verifier.verify(body, signature)) {
    throw new Refusal(
      401,
      'Invalid X-Hub-Signature-256: check that the webhook secret in GitHub matches GITHUB_WEBHOOK_SECRET',
    );
  }
  return intake(deliveryId, event, parsePayload(body, request.headers['content-type'] ?? ''));
}

/**
 * `POST /github/webhooks` as a plain Fastify route: the hottest path of the
 * bridge skips Nest's router and Fastify's JSON parser. The body is read as
 * bytes (up to GITHUB_WEBHOOK_BODY_LIMIT), the HMAC checked on them, and only a
 * verified body is parsed; its change goes to the inbox (one durable write,
 * shared with concurrent requests) and the answer is 202. The processor
 * applies it to its thread moments later.
 */
export function registerWebhookRoute(
  fastify: FastifyInstance,
  deps: { verifier: WebhookVerifier; inbox: WebhookInbox; metrics: Metrics; bodyLimit: number },
): void {
  const logger = new Logger('GitHubWebhooks');
  const errors = new AllExceptionsFilter();

  const receive = async (request: FastifyRequest, reply: FastifyReply) => {
    const event = header(request, 'x-github-event');
    const deliveryId = header(request, 'x-github-delivery');
    const signature = header(request, 'x-hub-signature-256');
    const missing = [
      event ? null : 'X-GitHub-Event',
      deliveryId ? null : 'X-GitHub-Delivery',
      signature ? null : 'X-Hub-Signature-256',
    ].filter(Boolean);
    if (missing.length > 0) {
      throw new Refusal(400, `Missing header ${missing.join(', ')}: is this a GitHub webhook?`);
    }
    if (!EVENT_NAME.test(event!)) throw new Refusal(400, 'X-GitHub-Event is not an event name');
    if (!DELIVERY_ID.test(deliveryId!)) {
      throw new Refusal(400, 'X-GitHub-Delivery is not a delivery id');
    }
    const entry = verifiedEntry(request, deps.verifier, deliveryId!, event!, signature!);
    // The change is all that is stored: let the body (up to 25 MB) go before
    // waiting for the commit, rather than keep it alive through the wait.
    request.body = undefined;
    let status: AppendResult;
    try {
      status = await deps.inbox.append(entry);
    } catch (error) {
      if (!(error instanceof InboxUnavailableError)) throw error;
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      throw new Refusal(
        503,
        `The delivery was not stored (the database is unavailable); send it again in ${RETRY_AFTER_SECONDS} s`,
      );
    }
    if (status === 'accepted' && entry.outcome) {
      logDelivery(logger, deps.metrics, {
        deliveryId: entry.deliveryId,
        event: entry.event,
        outcome: entry.outcome,
        reason: entry.reason,
      });
    } else if (status === 'duplicate') {
      deps.metrics.webhookSettled(entry.event, 'duplicate');
    }
    // A redelivery already accepted gets a 2xx (GitHub needs one) and changes nothing.
    return reply.code(status === 'duplicate' ? 200 : 202).send({ status });
  };

  void fastify.register(async (scope) => {
    // This route reads its body as bytes: the signature is over them, and
    // nothing is parsed before it is checked.
    scope.removeAllContentTypeParsers();
    // Every refusal, wherever it came from (this route's checks, the content-type hook, the
    // body limit), is counted and said in one line with what identifies it: webhook requests
    // skip the request log (see loggerParams), and never show their signature or body.
    scope.addHook('onResponse', (request, reply, done) => {
      if (reply.statusCode >= 400) {
        deps.metrics.webhookRefused(reply.statusCode);
        const header = (name: string) => {
          const value = request.headers[name];
          return typeof value === 'string' ? value.slice(0, 100) : undefined;
        };
        logger.warn(
          {
            requestId: request.id,
            statusCode: reply.statusCode,
            reason: refusalReason(reply.raw),
            deliveryId: header('x-github-delivery'),
            event: header('x-github-event'),
            userAgent: header('user-agent'),
          },
          'GitHub webhook refused',
        );
      }
      done();
    });
    scope.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer' },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler((error, _request, reply) => {
      const body =
        error instanceof Refusal
          ? {
              statusCode: error.statusCode,
              error: STATUS_CODES[error.statusCode] ?? 'Error',
              message: error.message,
            }
          : errors.toBody(error);
      if (body.statusCode >= 500 && !(error instanceof Refusal)) logger.error(error);
      return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
    });
    scope.post(
      WEBHOOK_PATH,
      { bodyLimit: deps.bodyLimit, onRequest: requireGitHubContentType },
      receive,
    );
  });
}
