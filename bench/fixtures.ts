import { createHmac } from 'node:crypto';
import examples from '@octokit/webhooks-examples';

export const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789abcdef';

/** A real `pull_request.opened` example payload, as GitHub sends it, and its signature. */
export function signedPullRequestOpened(): { body: string; signature: string } {
  const group = (examples as { name: string; examples: { action?: string }[] }[]).find(
    (e) => e.name === 'pull_request',
  );
  const payload = group?.examples.find((e) => e.action === 'opened');
  if (!payload) throw new Error('no pull_request.opened example in @octokit/webhooks-examples');
  const body = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
  return { body, signature };
}
