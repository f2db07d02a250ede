import { Module } from '@nestjs/common';
import { DatabaseNotificationsModule } from '../database/database-notifications.module';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { MetricsModule } from '../metrics/metrics.module';
import { DeliveryModule } from './delivery.module';
import { FlowdockDeliveryWorker } from './flowdock-delivery.worker';
import { FlowdockOutbox } from './flowdock-outbox';

/**
 * The worker that sends the outbox to Flowdock, each thread in order, with
 * retries. Only the server (AppModule) imports it; the CLI never delivers.
 */
@Module({
  imports: [DeliveryModule, FlowdockModule, DatabaseNotificationsModule, MetricsModule],
  providers: [FlowdockOutbox, FlowdockDeliveryWorker],
})
export class DeliveryWorkerModule {}
