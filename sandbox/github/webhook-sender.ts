import { createHmac, randomUUID } from 'node:crypto';

export interface SignedWebhook {
  headers: Record<string, string>;
  body: string;
  deliveryId: string;
}

/** `sha256=<hex HMAC>` of the exact body, as GitHub signs it. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A webhook request as GitHub would send it: JSON body, event, delivery id and signature headers. */
export function signedWebhook(
  secret: string,
  event: string,
  payload: object,
  deliveryId: string = randomUUID(),
): SignedWebhook {
  const body = JSON.stringify(payload);
  return { deliveryId, body, headers: webhookHeaders(secret, event, body, deliveryId) };
}

/** The headers GitHub sends with a webhook body (also when it sends the same body again). */
export function webhookHeaders(
  secret: string,
  event: string,
  body: string,
  deliveryId: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/sandbox',
    'x-github-event': event,
    'x-github-delivery': deliveryId,
    'x-hub-signature-256': signBody(secret, body),
  };
}
