import { Controller, Get, Header, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DatabaseSampler } from './database-sampler';
import { Metrics } from './metrics';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * GET /metrics: the Prometheus text format. Not rate-limited and not in the
 * request log (Prometheus scrapes it every few seconds); see MetricsTokenGuard.
 */
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly database: DatabaseSampler,
  ) {}

  /** The content type is the registry's (Prometheus text or OpenMetrics): set on the reply. */
  @Get()
  @UseGuards(MetricsTokenGuard)
  @Header('cache-control', 'no-store')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    await this.database.sample();
    const { contentType, body } = await this.metrics.render();
    void reply.type(contentType);
    return body;
  }
}
