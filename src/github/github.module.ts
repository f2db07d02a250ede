import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { ActionEchoes } from './action-echoes';
import { ActionsController } from './actions.controller';
import { FlowdockSetupController } from './flowdock-setup.controller';
import { FlowdockSetupService } from './flowdock-setup.service';
import { GitHubActionsService } from './github-actions.service';
import { GitHubThread } from './github-thread.entity';
import { GitHubThreadStore } from './github-thread.store';
import { Subscription } from './subscription.entity';
import { SubscriptionService } from './subscription.service';
import { ThreadOutbox } from './thread-outbox.service';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookIngestService } from './webhook-ingest.service';
import { WebhookVerifier } from './webhook-verifier';
import { WebhookController } from './webhook.controller';

/** GitHub webhooks -> threads, subscriptions of repositories to flows, and actions as the clicking user. */
@Module({
  imports: [
    TypeOrmModule.forFeature([WebhookDelivery, GitHubThread, Subscription]),
    FlowdockModule,
    AuthModule,
  ],
  controllers: [WebhookController, ActionsController, FlowdockSetupController],
  providers: [
    WebhookVerifier,
    WebhookIngestService,
    GitHubThreadStore,
    SubscriptionService,
    ThreadOutbox,
    ActionEchoes,
    GitHubActionsService,
    FlowdockSetupService,
  ],
  exports: [SubscriptionService, GitHubThreadStore, GitHubActionsService],
})
export class GitHubModule {}
