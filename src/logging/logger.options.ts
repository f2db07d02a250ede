import { RequestMethod } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';

/** Headers whose values never reach a log line. */
export const REDACTED_HEADERS = [
  'authorization',
  'proxy-authorization',
  'flowdock-token',
  'cookie',
  'set-cookie',
  // Not a secret, but a valid signature of a body: no reason to keep it.
  'x-hub-signature-256',
];
/** Query parameters whose values never reach a log line. */
export const REDACTED_QUERY_PARAMS = ['claim', 'code', 'state', 'access_token'];
const REDACTED = '[Redacted]';

/** The URL with the values of sensitive query parameters replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // Undecodable names are compared as they are.
      }
      return REDACTED_QUERY_PARAMS.includes(name.toLowerCase()) && eq >= 0
        ? `${rawName}=${REDACTED}`
        : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Fastify's request id generator: a well-formed incoming X-Request-Id is kept
 * (so a proxy's id follows the request), anything else is replaced. Every log
 * line of the request carries it, and the response echoes it.
 */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** nestjs-pino parameters: JSON lines carrying the request id, secrets redacted. */
export function loggerParams(level: string, stream?: DestinationStream): Params {
  const options = {
    level,
    redact: {
      paths: [
        ...REDACTED_HEADERS.map((h) => `req.headers["${h}"]`),
        ...REDACTED_HEADERS.map((h) => `res.headers["${h}"]`),
      ],
      censor: REDACTED,
    },
    serializers: {
      req: (req: {
        id: string;
        method: string;
        url: string;
        headers: Record<string, unknown>;
      }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        headers: req.headers,
      }),
      // Redirects to OAuth providers carry `state` in Location, and the
      // Flowdock challenge carries the claim in WWW-Authenticate's URL.
      res: (res: { statusCode: number; headers?: Record<string, unknown> }) => {
        const headers = { ...res.headers };
        for (const name of ['location', 'www-authenticate']) {
          const value = headers[name];
          if (typeof value === 'string') headers[name] = redactUrl(value);
        }
        return { ...res, headers };
      },
    },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
  };
  return {
    pinoHttp: stream ? [options, stream] : options,
    // nestjs-pino's default route pattern does not match under the Fastify adapter.
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
    // GitHub's webhooks: a line per delivery comes from the bridge itself (its outcome), and a
    // refusal is logged by app.factory; the full request line per webhook cost ~15 % of ingest.
    exclude: [{ path: 'github/webhooks', method: RequestMethod.POST }],
  };
}
