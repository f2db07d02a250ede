import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { DatabaseNotificationsModule } from '../database/database-notifications.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ThreadsModule } from '../threads/threads.module';
import { ActionAfterLink } from './action-after-link';
import { ActionsController } from './actions.controller';
import { FlowdockActionGuard } from './flowdock-action.guard';
import { FlowdockActionVerifier } from './flowdock-action.verifier';
import { GitHubActionsService } from './github-actions.service';
import { UsedActionToken } from './used-action-token.entity';
import { UsedActionTokenStore } from './used-action-token.store';

/**
 * Flowdock thread actions (Assign to me, Close, Reopen, Approve, Merge,
 * Refresh): the signed request is verified (FlowdockActionGuard), then the
 * action runs on GitHub as the clicking user's linked account.
 */
@Module({
  imports: [
    JwtModule.register({}),
    TypeOrmModule.forFeature([UsedActionToken]),
    AuthModule,
    ThreadsModule,
    DatabaseNotificationsModule,
    MetricsModule,
  ],
  controllers: [ActionsController],
  providers: [
    FlowdockActionVerifier,
    UsedActionTokenStore,
    FlowdockActionGuard,
    GitHubActionsService,
    ActionAfterLink,
  ],
  // The guard serves any route that takes Flowdock's signed action requests.
  exports: [
    FlowdockActionVerifier,
    UsedActionTokenStore,
    FlowdockActionGuard,
    GitHubActionsService,
  ],
})
export class ActionsModule {}
