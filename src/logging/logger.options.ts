import { RequestMethod } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { refusalReason } from './refusals';

/** Headers whose values never reach a log line. */
const REDACTED_HEADERS = [
  'authorization',
  'proxy-authorization',
  'flowdock-token',
  'cookie',
  'set-cookie',
  // Not a secret, but a valid signature of a body: no reason to keep it.
  'x-hub-signature-256',
];
/** Query parameters whose values never reach a log line. */
const REDACTED_QUERY_PARAMS = ['claim', 'code', 'state', 'access_token'];
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

/**
 * Refusals that are part of normal use (a user still to link their account, a
 * stale link, a scanner's probe): logged at info; other 4xx at warn.
 */
const ROUTINE_REFUSALS = new Set([401, 404]);

/** Fields of a database error that hold the values of a query: issue and PR text, tokens. */
const DATABASE_VALUE_FIELDS = ['parameters', 'detail'];

/**
 * A serialized error without the values bound to a failed query: TypeORM's
 * QueryFailedError carries `parameters`, and PostgreSQL's `detail` quotes rows
 * ("Failing row contains (...)", "Key (...)=(...)"). Nested errors (driverError,
 * cause) are cleaned the same way.
 */
export function withoutQueryValues<T>(error: T, depth = 0): T {
  if (typeof error !== 'object' || error === null || depth > 4) return error;
  const fromDatabase = 'query' in error || 'parameters' in error || 'severity' in error;
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (fromDatabase && DATABASE_VALUE_FIELDS.includes(key)) continue;
    clean[key] = typeof value === 'object' ? withoutQueryValues(value, depth + 1) : value;
  }
  return clean as T;
}

/**
 * nestjs-pino parameters: JSON lines carrying the request id, secrets redacted.
 * Lines written while a request is handled carry only its `requestId`; the
 * line that closes it says what was asked and answered: a refusal (4xx) in a
 * few fields with the reason the client was given, anything else with the
 * request (headers redacted) and, for a failure, the error.
 */
export function loggerParams(level: string, stream?: DestinationStream): Params {
  const options = {
    level,
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId' },
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
      err: (error: Record<string, unknown>) => withoutQueryValues(error),
    },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) => {
      if (error || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400 && !ROUTINE_REFUSALS.has(res.statusCode)) return 'warn';
      return 'info';
    },
    customSuccessObject: (req: IncomingMessage, res: ServerResponse, done: object) =>
      res.statusCode >= 400
        ? {
            method: req.method,
            url: redactUrl(req.url ?? ''),
            statusCode: res.statusCode,
            reason: refusalReason(res),
            responseTime: (done as { responseTime?: number }).responseTime,
          }
        : { req, ...done },
    customSuccessMessage: (_req: IncomingMessage, res: ServerResponse) =>
      res.statusCode >= 400 ? 'request refused' : 'request completed',
    customErrorObject: (
      req: IncomingMessage,
      _res: ServerResponse,
      _error: Error,
      failed: object,
    ) => ({
      req,
      ...failed,
    }),
  };
  return {
    pinoHttp: stream ? [options, stream] : options,
    // nestjs-pino's default route pattern does not match under the Fastify adapter.
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
    // GitHub's webhooks: a line per delivery comes from the bridge itself (its outcome), and a
    // refusal is logged by app.factory; the full request line per webhook cost ~15 % of ingest.
    // Prometheus scrapes GET /metrics every few seconds: a line each would drown the log.
    exclude: [
      { path: 'github/webhooks', method: RequestMethod.POST },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  };
}
