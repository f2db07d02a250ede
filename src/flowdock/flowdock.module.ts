import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseNotificationsModule } from '../database/database-notifications.module';
import { MetricsModule } from '../metrics/metrics.module';
import { FlowdockActionGuard } from './flowdock-action.guard';
import { FlowdockActionVerifier } from './flowdock-action.verifier';
import { FlowdockChallenges } from './flowdock-challenge';
import { FlowdockClient } from './flowdock-client';
import { FlowdockDeliveryService } from './flowdock-delivery.service';
import { FlowdockDeliveryWorker } from './flowdock-delivery.worker';
import { FlowdockMessageEntity } from './flowdock-message.entity';
import { FlowdockOutbox } from './flowdock-outbox';
import { FlowdockSourceEntity } from './flowdock-source.entity';
import { FlowdockSourceService } from './flowdock-sources.service';
import { FlowdockThreadEntity } from './flowdock-thread.entity';
import { UsedActionToken } from './used-action-token.entity';
import { UsedActionTokens } from './used-action-tokens';

/**
 * Everything that talks to Flowdock or answers it: the API client, the
 * verification of signed UpdateAction requests and the authentication
 * challenge, thread rendering and the reliable delivery of messages.
 */
@Module({
  imports: [
    JwtModule.register({}),
    DatabaseNotificationsModule,
    MetricsModule,
    TypeOrmModule.forFeature([
      UsedActionToken,
      FlowdockSourceEntity,
      FlowdockThreadEntity,
      FlowdockMessageEntity,
    ]),
  ],
  providers: [
    FlowdockClient,
    FlowdockActionVerifier,
    UsedActionTokens,
    FlowdockActionGuard,
    FlowdockChallenges,
    FlowdockSourceService,
    FlowdockDeliveryService,
    FlowdockDeliveryWorker,
    FlowdockOutbox,
  ],
  exports: [
    FlowdockClient,
    FlowdockActionVerifier,
    UsedActionTokens,
    FlowdockActionGuard,
    FlowdockChallenges,
    FlowdockSourceService,
    FlowdockDeliveryService,
    FlowdockDeliveryWorker,
  ],
})
export class FlowdockModule {}
