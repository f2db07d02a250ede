import type { ServerResponse } from 'node:http';

/**
 * Why a request was refused (4xx), taken from what the client was told: the
 * `message` (or `error`) of a JSON error body, or the heading of an HTML error
 * page. Both are written for the client, so they hold no secret; the request
 * log line carries this sentence instead of the whole request.
 */
const reasons = new WeakMap<ServerResponse, string>();
const MAX_REASON = 200;

export function noteRefusal(res: ServerResponse, contentType: unknown, body: unknown): void {
  const reason = reasonOf(typeof contentType === 'string' ? contentType : '', body);
  if (reason) reasons.set(res, reason);
}

export function refusalReason(res: ServerResponse): string | undefined {
  return reasons.get(res);
}

export function reasonOf(contentType: string, body: unknown): string | undefined {
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString() : '';
  if (text.length === 0 || text.length > 64 * 1024) return undefined;
  let reason: string | undefined;
  if (contentType.startsWith('application/json')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
      const value = typeof parsed.message === 'string' ? parsed.message : parsed.error;
      reason = typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  } else if (contentType.startsWith('text/html')) {
    const heading = /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1];
    reason = heading === undefined ? undefined : unescapeHtml(heading.replace(/<[^>]*>/g, ''));
  }
  // eslint-disable-next-line no-control-regex
  reason = reason?.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (!reason) return undefined;
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeHtml(text: string): string {
  return text.replace(/&(#\d{1,6}|#x[0-9a-f]{1,6}|[a-z]+);/gi, (entity, code: string) => {
    if (code[0] !== '#') return NAMED[code.toLowerCase()] ?? entity;
    const point =
      code[1] === 'x' || code[1] === 'X' ? parseInt(code.slice(2), 16) : Number(code.slice(1));
    return point <= 0x10ffff ? String.fromCodePoint(point) : entity;
  });
}
