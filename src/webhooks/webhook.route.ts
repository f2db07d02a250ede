import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isRecord } from '../common/records';
import { AllExceptionsFilter } from '../http/all-exceptions.filter';
import { refusalReason } from '../logging/refusals';
import { Metrics } from '../metrics/metrics';
import { InboxEntry, intake } from './delivery-intake';
import { logDelivery } from './delivery-outcome';
import { GitHubWebhookGuard, GitHubWebhookRefusal, SignedDelivery } from './github-webhook.guard';
import { AppendResult, InboxUnavailableError, WebhookInbox } from './webhook-inbox';

const WEBHOOK_PATH = '/github/webhooks';

const FORM = /^application\/x-www-form-urlencoded/i;

/** Seconds GitHub (or a person redelivering) should wait when the inbox cannot store a delivery. */
const RETRY_AFTER_SECONDS = 30;

/**
 * GitHub's payload, parsed only once its signature is known to be good: the
 * JSON body, or the `payload` field of a form-encoded one. `JSON.parse` makes
 * a `__proto__` key an own property, and nothing merges the payload into
 * other objects (intake reads named fields).
 */
function parsePayload({ body, contentType }: SignedDelivery): object {
  let text = body.toString('utf8');
  if (FORM.test(contentType)) {
    const field = new URLSearchParams(text).get('payload');
    if (field === null) throw new GitHubWebhookRefusal(400, 'The form has no "payload" field');
    text = field;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    throw new GitHubWebhookRefusal(400, 'The webhook body is not valid JSON');
  }
  if (!isRecord(payload)) {
    throw new GitHubWebhookRefusal(400, 'The webhook body must be a JSON object');
  }
  return payload;
}

/**
 * The inbox entry of a request the guard let through. A function of its
 * own, not inline in the handler: the parsed payload then never lives in the
 * handler's frame, which is kept through the wait for the commit.
 */
function verifiedEntry(request: FastifyRequest, guard: GitHubWebhookGuard): InboxEntry {
  const delivery = guard.verify(request);
  return intake(delivery.deliveryId, delivery.event, parsePayload(delivery));
}

/**
 * `POST /github/webhooks` as a plain Fastify route: the hottest path of the
 * bridge skips Nest's router and Fastify's JSON parser. GitHubWebhookGuard
 * checks the content type before the body is read (as bytes, up to
 * GITHUB_WEBHOOK_BODY_LIMIT), then the headers and the HMAC over the bytes;
 * only a verified body is parsed. Its change goes to the inbox (one durable
 * write, shared with concurrent requests) and the answer is 202. The
 * processor applies it to its thread moments later.
 */
export function registerWebhookRoute(
  fastify: FastifyInstance,
  deps: { guard: GitHubWebhookGuard; inbox: WebhookInbox; metrics: Metrics; bodyLimit: number },
): void {
  const logger = new Logger('GitHubWebhooks');
  const errors = new AllExceptionsFilter();

  const receive = async (request: FastifyRequest, reply: FastifyReply) => {
    const entry = verifiedEntry(request, deps.guard);
    // The change is all that is stored: let the body (up to 25 MB) go before
    // waiting for the commit, rather than keep it alive through the wait.
    request.body = undefined;
    let status: AppendResult;
    try {
      status = await deps.inbox.append(entry);
    } catch (error) {
      if (!(error instanceof InboxUnavailableError)) throw error;
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      throw new GitHubWebhookRefusal(
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
      const refusal = error instanceof GitHubWebhookRefusal;
      const body = refusal ? error.toBody() : errors.toBody(error);
      if (body.statusCode >= 500 && !refusal) logger.error(error);
      return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
    });
    scope.post(
      WEBHOOK_PATH,
      {
        bodyLimit: deps.bodyLimit,
        onRequest: async (request) => deps.guard.checkContentType(request),
      },
      receive,
    );
  });
}
