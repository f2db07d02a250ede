import fastifyCookie from '@fastify/cookie';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule, AppModuleOptions } from './app.module';
import { AppConfig } from './config/app.config';
import { WebhookInbox } from './webhooks/webhook-inbox';
import { registerWebhookRoute } from './webhooks/webhook.route';
import { GitHubWebhookGuard } from './webhooks/github-webhook.guard';
import { AllExceptionsFilter } from './http/all-exceptions.filter';
import { requestValidationPipe } from './http/request-validation';
import { Metrics } from './metrics/metrics';
import {
  enableAuthRateLimits,
  fastifyTrustProxy,
  markAuthRoutes,
  TooManyRequestsFilter,
} from './http/rate-limits';
import { requestId } from './logging/logger.options';
import { noteRefusal } from './logging/refusals';

/**
 * Builds the bridge's HTTP application (not yet listening). main.ts and the
 * e2e tests both use it, so tests exercise the production wiring.
 */
export async function createApp(
  config: AppConfig,
  options: AppModuleOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimit,
    ...(config.trustProxy !== undefined
      ? { trustProxy: fastifyTrustProxy(config.trustProxy) }
      : {}),
    requestIdHeader: false,
    genReqId: requestId,
  });
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  markAuthRoutes(adapter.getInstance(), config.authRateLimit);
  // A refusal's log line gives the reason the client was told (see loggerParams).
  adapter.getInstance().addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode >= 400 && reply.statusCode < 500) {
      noteRefusal(reply.raw, reply.getHeader('content-type'), payload);
    }
    done(null, payload);
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options),
    adapter,
    { rawBody: true, bufferLogs: true, abortOnError: false },
  );
  // GitHub sends payloads up to 25 MB; everything else keeps the small limit.
  registerWebhookRoute(adapter.getInstance(), {
    guard: app.get(GitHubWebhookGuard),
    inbox: app.get(WebhookInbox),
    metrics: app.get(Metrics),
    bodyLimit: config.webhookBodyLimit,
  });
  // Signed cookies (COOKIE_SECRET) bind OAuth sign-ins to the browser that started them.
  await app.register(fastifyCookie, { secret: config.cookieSecret });
  await enableAuthRateLimits(app, config.authRateLimit);
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new AllExceptionsFilter(), new TooManyRequestsFilter(config.authRateLimit));
  app.useGlobalPipes(requestValidationPipe());
  app.flushLogs();
  return app;
}
