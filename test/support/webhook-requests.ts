import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';

/** A repository name no other test uses, so the shared database never interferes. */
export const uniqueRepo = (owner = `org${randomBytes(4).toString('hex')}`) =>
  `${owner}/repo-${randomBytes(4).toString('hex')}`;

/** An example payload moved to another repository. */
export function inRepo<P extends { repository?: { full_name: string; name: string } }>(
  payload: P,
  repository: string,
): P {
  payload.repository!.full_name = repository;
  payload.repository!.name = repository.split('/')[1];
  return payload;
}

/** POST /github/webhooks through the app (a signed webhook from the sandbox's webhook-sender). */
export const postWebhook = (
  app: NestFastifyApplication,
  webhook: { headers: Record<string, string>; body: string },
) =>
  app.inject({
    method: 'POST',
    url: '/github/webhooks',
    headers: webhook.headers,
    payload: webhook.body,
  });
