import { applyDecorators, Header } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/**
 * The headers of the bridge's own HTML pages: never cached (they are per user
 * or change), no referrer (their URLs name repositories, claims or states),
 * nothing loaded from elsewhere, no framing; forms post back to the bridge
 * only on pages that have them.
 */
function htmlHeaders(options: { forms?: boolean }): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${options.forms ? "'self'" : "'none'"}; frame-ancestors 'none'`,
  };
}

/** Sends one of the bridge's own HTML pages (see htmlHeaders). */
export function sendHtml(
  reply: FastifyReply,
  status: number,
  html: string,
  options: { forms?: boolean } = {},
): FastifyReply {
  return reply.status(status).headers(htmlHeaders(options)).send(html);
}

/** A handler that returns one of the bridge's HTML pages as a string (see htmlHeaders). */
export const HtmlPage = (options: { forms?: boolean } = {}) =>
  applyDecorators(
    ...Object.entries(htmlHeaders(options)).map(([name, value]) => Header(name, value)),
  );
