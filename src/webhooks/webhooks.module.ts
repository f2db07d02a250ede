import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { DatabaseNotificationsModule } from '../database/database-notifications.module';
import { GitHubWebhookGuard } from './github-webhook.guard';
import { MetricsModule } from '../metrics/metrics.module';
import { ThreadsModule } from '../threads/threads.module';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookInbox } from './webhook-inbox';
import { WebhookProcessor } from './webhook-processor';
import { WebhookVerifier } from './webhook-verifier';

/**
 * GitHub webhooks -> threads: POST /webhooks/github (a plain Fastify route,
 * registered by the app factory) verifies and stores each delivery in the
 * inbox; the processor applies them to threads in the background.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([WebhookDelivery]),
    ThreadsModule,
    AuthModule,
    DatabaseNotificationsModule,
    MetricsModule,
  ],
  providers: [WebhookVerifier, GitHubWebhookGuard, WebhookInbox, WebhookProcessor],
})
export class WebhooksModule {}
