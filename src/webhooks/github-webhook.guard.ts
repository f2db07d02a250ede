import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { WebhookVerifier } from './webhook-verifier';

/** The content types GitHub sends a webhook as (the webhook's "Content type" setting). */
const GITHUB_CONTENT_TYPE = /^application\/(?:json|x-www-form-urlencoded)\s*(?:;|$)/i;
const EVENT_NAME = /^[a-z_]{1,64}$/;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;

/** A webhook request refused, with what the client is told (the webhook route's JSON error). */
export class GitHubWebhookRefusal extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'GitHubWebhookRefusal';
  }

  toBody(): { statusCode: number; error: string; message: string } {
    return {
      statusCode: this.statusCode,
      error: STATUS_CODES[this.statusCode] ?? 'Error',
      message: this.message,
    };
  }
}

/** A delivery whose headers are GitHub's and whose body GitHub signed, not yet parsed. */
export interface SignedDelivery {
  event: string;
  deliveryId: string;
  body: Buffer;
  contentType: string;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/**
 * Lets through only webhooks that GitHub sent: a content type GitHub uses, an
 * event name, a delivery id and an `X-Hub-Signature-256` over the exact body
 * under the webhook secret (the HMAC lives in WebhookVerifier). Anything else
 * is a GitHubWebhookRefusal saying what to fix.
 *
 * `POST /github/webhooks` is a plain Fastify route, outside Nest's router,
 * for throughput; it calls this guard in two steps: the content type before
 * the body is read (onRequest), the rest once the body's bytes are in.
 */
@Injectable()
export class GitHubWebhookGuard {
  constructor(private readonly verifier: WebhookVerifier) {}

  /**
   * Any other content type is refused before the body is read, saying what
   * GitHub sends, rather than with a signature error that would send the
   * operator after the secret.
   */
  checkContentType(request: FastifyRequest): void {
    const type = request.headers['content-type'];
    if (typeof type === 'string' && GITHUB_CONTENT_TYPE.test(type)) return;
    const came = typeof type === 'string' ? `as "${type.slice(0, 100)}"` : 'without a Content-Type';
    throw new GitHubWebhookRefusal(
      415,
      `GitHub sends webhooks as application/json or application/x-www-form-urlencoded; this request came ${came}. Check the webhook's "Content type" in GitHub.`,
    );
  }

  /** The delivery, once its headers and its signature over the body's bytes are good. */
  verify(request: FastifyRequest): SignedDelivery {
    const event = header(request, 'x-github-event');
    const deliveryId = header(request, 'x-github-delivery');
    const signature = header(request, 'x-hub-signature-256');
    if (!event || !deliveryId || !signature) {
      const missing = [
        event ? null : 'X-GitHub-Event',
        deliveryId ? null : 'X-GitHub-Delivery',
        signature ? null : 'X-Hub-Signature-256',
      ].filter(Boolean);
      throw new GitHubWebhookRefusal(
        400,
        `Missing header ${missing.join(', ')}: is this a GitHub webhook?`,
      );
    }
    if (!EVENT_NAME.test(event)) {
      throw new GitHubWebhookRefusal(400, 'X-GitHub-Event is not an event name');
    }
    if (!DELIVERY_ID.test(deliveryId)) {
      throw new GitHubWebhookRefusal(400, 'X-GitHub-Delivery is not a delivery id');
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    if (!this.verifier.verify(body, signature)) {
      throw new GitHubWebhookRefusal(
        401,
        'Invalid X-Hub-Signature-256: check that the webhook secret in GitHub matches GITHUB_WEBHOOK_SECRET',
      );
    }
    return { event, deliveryId, body, contentType: request.headers['content-type'] ?? '' };
  }
}
