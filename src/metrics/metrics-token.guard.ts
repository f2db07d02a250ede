import {
  CanActivate,
  ExecutionContext,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app.config';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * GET /metrics with METRICS_TOKEN set: `Authorization: Bearer <METRICS_TOKEN>`
 * or 401. The digests are compared, in constant time whatever the lengths.
 * Without METRICS_TOKEN the endpoint is open.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly logger = new Logger('Metrics');
  private readonly expected: Buffer | undefined;

  constructor(config: ConfigService<AppConfig, true>) {
    const token = config.get('metricsToken', { infer: true });
    this.expected = token === undefined ? undefined : digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (token !== undefined && timingSafeEqual(digest(token), this.expected)) return true;
    const reason =
      token === undefined
        ? 'GET /metrics needs the header Authorization: Bearer <METRICS_TOKEN>'
        : 'The bearer token is not the METRICS_TOKEN of this bridge';
    // The route is left out of the request log (a line per scrape); a refusal is said here.
    this.logger.log({ requestId: request.id, reason }, 'Metrics scrape refused');
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException(reason);
  }
}
