import {
  BadRequestException,
  Controller,
  Headers,
  HttpCode,
  Logger,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { intake } from './delivery-intake';
import { logDelivery } from './delivery-log';
import { AppendResult, InboxUnavailableError, WebhookInbox } from './webhook-inbox';
import { WebhookVerifier } from './webhook-verifier';

const EVENT_NAME = /^[a-z_]{1,64}$/;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;

/** GitHub's payload: the JSON body, or the `payload` field of a form-encoded one. */
function parsePayload(body: unknown): object {
  let payload = body;
  if (payload && typeof payload === 'object' && 'payload' in payload && !('sender' in payload)) {
    const field = payload.payload;
    try {
      payload = typeof field === 'string' ? JSON.parse(field) : undefined;
    } catch {
      throw new BadRequestException('The form field "payload" is not JSON');
    }
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new BadRequestException('The webhook body must be a JSON object');
  }
  return payload;
}

/** Seconds GitHub (or a person redelivering) should wait when the inbox cannot store a delivery. */
const RETRY_AFTER_SECONDS = 30;

/**
 * `POST /github/webhooks`: verify, store in the inbox (one durable write),
 * answer 202. The processor applies it to its thread moments later.
 */
@Controller('github')
export class WebhookController {
  private readonly logger = new Logger('GitHubWebhooks');

  constructor(
    private readonly verifier: WebhookVerifier,
    private readonly inbox: WebhookInbox,
  ) {}

  @Post('webhooks')
  @HttpCode(202)
  async receive(
    @Req() req: FastifyRequest & { rawBody?: Buffer },
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('x-github-event') event: string | undefined,
    @Headers('x-github-delivery') deliveryId: string | undefined,
    @Headers('x-hub-signature-256') signature: string | undefined,
  ): Promise<{ status: AppendResult }> {
    const missing = [
      event ? null : 'X-GitHub-Event',
      deliveryId ? null : 'X-GitHub-Delivery',
      signature ? null : 'X-Hub-Signature-256',
    ].filter(Boolean);
    if (missing.length > 0) {
      throw new BadRequestException(
        `Missing header ${missing.join(', ')}: is this a GitHub webhook?`,
      );
    }
    if (!EVENT_NAME.test(event!))
      throw new BadRequestException('X-GitHub-Event is not an event name');
    if (!DELIVERY_ID.test(deliveryId!))
      throw new BadRequestException('X-GitHub-Delivery is not a delivery id');
    if (!req.rawBody || !(await this.verifier.verify(req.rawBody, signature!))) {
      throw new UnauthorizedException(
        'Invalid X-Hub-Signature-256: check that the webhook secret in GitHub matches GITHUB_WEBHOOK_SECRET',
      );
    }
    const entry = intake(deliveryId!, event!, parsePayload(req.body));
    // The change is all that is stored: let the payload (up to 25 MB, parsed and raw)
    // go before waiting for the commit, rather than keep it alive through the wait.
    req.body = undefined;
    req.rawBody = undefined;
    let status: AppendResult;
    try {
      status = await this.inbox.append(entry);
    } catch (error) {
      if (!(error instanceof InboxUnavailableError)) throw error;
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      throw new ServiceUnavailableException(
        `The delivery was not stored (the database is unavailable); send it again in ${RETRY_AFTER_SECONDS} s`,
      );
    }
    if (status === 'duplicate') {
      // A redelivery was already accepted: GitHub needs a 2xx, nothing new happens.
      void reply.status(200);
    } else if (entry.outcome) {
      logDelivery(this.logger, {
        deliveryId: entry.deliveryId,
        event: entry.event,
        outcome: entry.outcome,
        reason: entry.reason,
      });
    }
    return { status };
  }
}
