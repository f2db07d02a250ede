import rateLimit from '@fastify/rate-limit';
import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendPage } from './html-page';

/** The pages people open in a browser to sign in, link, manage their link and set up a flow. */
const BROWSER_AUTH_ROUTE = /^\/(?:authorization|auth\/|account|deliveries|flowdock\/setup)/;

/** Refused for sending too many requests; carries the page to answer with. */
class TooManyRequestsError extends Error {
  readonly statusCode = 429;
  constructor(readonly retryAfterSeconds: number) {
    super('Too many requests from this address');
    this.name = 'TooManyRequestsError';
  }
}

/**
 * Marks the browser auth routes for a limit per client address (call before
 * the routes are registered); `enableAuthRateLimits` then loads the limiter.
 */
export function markAuthRoutes(fastify: FastifyInstance, perMinute: number): void {
  if (perMinute <= 0) return;
  fastify.addHook('onRoute', (route) => {
    if (!BROWSER_AUTH_ROUTE.test(route.url)) return;
    route.config = { ...(route.config ?? {}), rateLimit: { max: perMinute, timeWindow: 60_000 } };
  });
}

/**
 * @fastify/rate-limit for the marked routes, per client address (see
 * TRUST_PROXY behind a proxy): over the limit, a 429 page with Retry-After.
 */
export async function enableAuthRateLimits(
  app: NestFastifyApplication,
  perMinute: number,
): Promise<void> {
  if (perMinute <= 0) return;
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new TooManyRequestsError(Math.ceil(context.ttl / 1000)),
  });
}

/** The limiter's refusal as a page: these routes are opened by people in a browser. */
@Catch(TooManyRequestsError)
export class TooManyRequestsFilter implements ExceptionFilter {
  constructor(private readonly perMinute: number) {}

  catch(error: TooManyRequestsError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    void sendPage(reply, {
      status: 429,
      title: 'Too many requests',
      message: `This address sent more than ${this.perMinute} requests in a minute to the sign-in, linking and setup pages.`,
      next: `Wait ${error.retryAfterSeconds} seconds, then try again.`,
    });
  }
}

/** TRUST_PROXY for Fastify: a hop count becomes "trust the nearest N". */
export function fastifyTrustProxy(
  trust: number | string[],
): string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}
