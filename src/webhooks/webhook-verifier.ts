import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app.config';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * Checks `X-Hub-Signature-256` against GITHUB_WEBHOOK_SECRET and, during a
 * rotation, GITHUB_WEBHOOK_SECRET_PREVIOUS (set the new secret in GitHub and
 * here, keep the old one as PREVIOUS until GitHub sends only the new one).
 * The HMAC is computed over the body's bytes as received, before anything
 * parses them.
 */
@Injectable()
export class WebhookVerifier {
  private readonly secrets: string[];

  constructor(config: ConfigService<AppConfig, true>) {
    const { webhookSecret, webhookSecretPrevious } = config.get('github', { infer: true });
    this.secrets = [webhookSecret, webhookSecretPrevious].filter(
      (secret): secret is string => !!secret,
    );
  }

  /** True when the signature is valid for the exact raw body under one of the secrets. */
  verify(rawBody: Buffer, signature: string): boolean {
    const hex = SIGNATURE.exec(signature)?.[1];
    if (!hex) return false;
    const expected = Buffer.from(hex, 'hex');
    return this.secrets.some((secret) =>
      timingSafeEqual(createHmac('sha256', secret).update(rawBody).digest(), expected),
    );
  }
}
