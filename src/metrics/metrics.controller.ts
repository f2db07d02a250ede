import { Controller, Get, Res, UseGuards } from '@nestjs/common';
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

  @Get()
  @UseGuards(MetricsTokenGuard)
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    await this.database.sample();
    const { contentType, body } = await this.metrics.render();
    await reply.header('cache-control', 'no-store').type(contentType).send(body);
  }
}
