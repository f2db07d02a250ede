import { Module } from '@nestjs/common';
import { DatabaseSampler } from './database-sampler';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * Prometheus metrics: the Metrics service (the registry of this application
 * and its instruments, which other modules import this module to record
 * through) and GET /metrics. It depends on no feature module, so any of
 * them can import it without a cycle.
 */
@Module({
  controllers: [MetricsController],
  providers: [Metrics, DatabaseSampler, MetricsTokenGuard],
  exports: [Metrics],
})
export class MetricsModule {}
