import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app.config';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { MetricsModule } from '../metrics/metrics.module';
import { AccountSessionService } from './account-session.service';
import { AccountController } from './account.controller';
import { ClaimedActions } from './claimed-actions';
import { ClaimService } from './claim.service';
import { FlowdockChallenges } from './flowdock-challenge';
import { FlowdockSignInService } from './flowdock-sign-in.service';
import { GitHubOctokitFactory } from './github-octokit.factory';
import { GitHubOAuthService } from './github-oauth.service';
import { LinkedAccount } from './linked-account.entity';
import { LinkedAccountService } from './linked-account.service';
import { LinkingController } from './linking.controller';
import { OAuthState } from './oauth-state.entity';
import { OAuthStateService } from './oauth-state.service';
import { SpentClaim } from './spent-claim.entity';

/**
 * Account linking (claims, Flowdock and GitHub OAuth, the account page) and
 * the linked accounts other modules act through: LinkedAccountService
 * (actingAs, octokitFor, findLink, unlink, revokeByGitHubUserId) and ClaimService
 * (issueClaim, for the 401 challenge).
 */
@Module({
  imports: [
    FlowdockModule,
    MetricsModule,
    TypeOrmModule.forFeature([LinkedAccount, OAuthState, SpentClaim]),
    JwtModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => ({
        secret: config.get('cookieSecret', { infer: true }),
        signOptions: { algorithm: 'HS256' },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  controllers: [LinkingController, AccountController],
  providers: [
    ClaimService,
    FlowdockChallenges,
    OAuthStateService,
    AccountSessionService,
    FlowdockSignInService,
    GitHubOctokitFactory,
    GitHubOAuthService,
    LinkedAccountService,
    ClaimedActions,
  ],
  exports: [
    // The module that performs thread actions plugs in, for the end of the linking flow.
    ClaimedActions,
    LinkedAccountService,
    ClaimService,
    // Actions and conversations send unlinked users to link their accounts.
    FlowdockChallenges,
    GitHubOctokitFactory,
    // The Flowdock setup flow (SetupModule) uses the same one-use state.
    OAuthStateService,
    // Pages of other modules (the delivery log) sign in with Flowdock and sign their sessions.
    FlowdockSignInService,
    JwtModule,
  ],
})
export class AuthModule {}
