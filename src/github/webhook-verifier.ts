import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Webhooks } from '@octokit/webhooks';
import { AppConfig } from '../config/app.config';

/**
 * Checks `X-Hub-Signature-256` against GITHUB_WEBHOOK_SECRET and, during a
 * rotation, GITHUB_WEBHOOK_SECRET_PREVIOUS (set the new secret in GitHub and
 * here, keep the old one as PREVIOUS until GitHub sends only the new one).
 */
@Injectable()
export class WebhookVerifier {
  private readonly verifiers: Webhooks[];

  constructor(config: ConfigService<AppConfig, true>) {
    const { webhookSecret, webhookSecretPrevious } = config.get('github', { infer: true });
    this.verifiers = [webhookSecret, webhookSecretPrevious]
      .filter((secret): secret is string => !!secret)
      .map((secret) => new Webhooks({ secret }));
  }

  /** True when the signature is valid for the exact raw body under one of the secrets. */
  async verify(rawBody: Buffer, signature: string): Promise<boolean> {
    if (!/^sha256=[0-9a-f]{64}$/i.test(signature)) return false;
    const body = rawBody.toString('utf8');
    for (const webhooks of this.verifiers) {
      if (await webhooks.verify(body, signature)) return true;
    }
    return false;
  }
}
