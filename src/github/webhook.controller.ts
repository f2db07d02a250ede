import {
  BadRequestException,
  Controller,
  Headers,
  HttpCode,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IngestResult, WebhookIngestService } from './webhook-ingest.service';
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

/** `POST /github/webhooks`: verify, record, answer 202 (the work is in the transaction, the sending later). */
@Controller('github')
export class WebhookController {
  constructor(
    private readonly verifier: WebhookVerifier,
    private readonly ingest: WebhookIngestService,
  ) {}

  @Post('webhooks')
  @HttpCode(202)
  async receive(
    @Req() req: FastifyRequest & { rawBody?: Buffer },
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('x-github-event') event: string | undefined,
    @Headers('x-github-delivery') deliveryId: string | undefined,
    @Headers('x-hub-signature-256') signature: string | undefined,
  ): Promise<{ status: IngestResult['outcome']; messages: number }> {
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
    const payload = parsePayload(req.body);
    const result = await this.ingest.ingest({ id: deliveryId!, event: event!, payload });
    // A redelivery was already accepted: GitHub needs a 2xx, nothing new happened.
    if (result.outcome === 'duplicate') reply.status(200);
    return { status: result.outcome, messages: result.messages };
  }
}
