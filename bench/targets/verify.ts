import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_SECRET } from '../fixtures';

export function verifySignature(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
  );
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
