import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DeliveryModule } from '../delivery/delivery.module';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { GitHubThread } from './github-thread.entity';
import { GitHubThreadStore } from './github-thread.store';
import { ThreadChanges } from './thread-changes';

/**
 * One thread per pull request and issue: its state, and the one path
 * (ThreadChanges) by which webhooks and actions change it and enqueue what
 * Flowdock should show.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([GitHubThread]),
    SubscriptionsModule,
    FlowdockModule,
    DeliveryModule,
  ],
  providers: [GitHubThreadStore, ThreadChanges],
  exports: [GitHubThreadStore, ThreadChanges],
})
export class ThreadsModule {}
