import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { DatabaseNotificationsModule } from '../database/database-notifications.module';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ActionAfterLink } from './action-after-link';
import { ActionsController } from './actions.controller';
import { FlowdockSetupController } from './flowdock-setup.controller';
import { FlowdockSetupService } from './flowdock-setup.service';
import { GitHubActionsService } from './github-actions.service';
import { GitHubThread } from './github-thread.entity';
import { GitHubThreadStore } from './github-thread.store';
import { Subscription } from './subscription.entity';
import { SubscriptionService } from './subscription.service';
import { ThreadChanges } from './thread-changes';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookInbox } from './webhook-inbox';
import { WebhookProcessor } from './webhook-processor';
import { WebhookVerifier } from './webhook-verifier';

/** GitHub webhooks -> threads, subscriptions of repositories to flows, and actions as the clicking user. */
@Module({
  imports: [
    TypeOrmModule.forFeature([WebhookDelivery, GitHubThread, Subscription]),
    DatabaseNotificationsModule,
    FlowdockModule,
    AuthModule,
    MetricsModule,
  ],
  controllers: [ActionsController, FlowdockSetupController],
  providers: [
    WebhookVerifier,
    WebhookInbox,
    WebhookProcessor,
    GitHubThreadStore,
    ThreadChanges,
    SubscriptionService,
    GitHubActionsService,
    ActionAfterLink,
    FlowdockSetupService,
  ],
  // GitHubThreadStore: conversations record the echoes of the comments they post.
  exports: [SubscriptionService, GitHubActionsService, GitHubThreadStore],
})
export class GitHubModule {}
