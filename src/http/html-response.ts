import type { FastifyReply } from 'fastify';

/**
 * Sends one of the bridge's own HTML pages: never cached (they are per user
 * or change), no referrer (their URLs name repositories, claims or states),
 * nothing loaded from elsewhere, no framing; forms post back to the bridge
 * only on pages that have them.
 */
export function sendHtml(
  reply: FastifyReply,
  status: number,
  html: string,
  options: { forms?: boolean } = {},
): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header(
      'content-security-policy',
      `default-src 'none'; style-src 'unsafe-inline'; form-action ${options.forms ? "'self'" : "'none'"}; frame-ancestors 'none'`,
    )
    .send(html);
}
