import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { Subscription } from './subscription.entity';
import { SubscriptionService } from './subscription.service';

/** Which repositories post to which flows, with their rules (the setup flow and the CLI manage them). */
@Module({
  imports: [TypeOrmModule.forFeature([Subscription]), FlowdockModule],
  providers: [SubscriptionService],
  exports: [SubscriptionService],
})
export class SubscriptionsModule {}
