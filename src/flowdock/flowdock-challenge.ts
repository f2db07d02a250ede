import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../config/app.config';
import { CLAIM_ISSUER, ClaimContext, ClaimIssuer } from './claim-issuer';

/**
 * Flowdock's authentication challenge (thread-actions.md): the user must link
 * their account first. FlowdockChallengeFilter turns it into
 * `401`, `WWW-Authenticate: Flowdock-Token url=<challenge URL>` and
 * `{"error": "Authentication required"}`. Create it with FlowdockChallenges.
 */
export class FlowdockChallengeException extends UnauthorizedException {
  constructor(readonly challengeUrl: string) {
    super('Authentication required');
  }
}

@Catch(FlowdockChallengeException)
export class FlowdockChallengeFilter implements ExceptionFilter {
  catch(exception: FlowdockChallengeException, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .status(401)
      .header('www-authenticate', `Flowdock-Token url=${exception.challengeUrl}`)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ error: 'Authentication required' }));
  }
}

/** Builds challenges: asks the ClaimIssuer (the Auth module) for a claim for the user. */
@Injectable()
export class FlowdockChallenges {
  private readonly publicUrl: string;

  constructor(
    private readonly moduleRef: ModuleRef,
    config: ConfigService<AppConfig, true>,
  ) {
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  /**
   * `throw await challenges.challenge(userId, context)` from an action handler;
   * the context (the user's name, the clicked action) comes from the verified request.
   */
  async challenge(
    flowdockUserId: string,
    context?: ClaimContext,
  ): Promise<FlowdockChallengeException> {
    const claim = await this.issuer().issueClaim(flowdockUserId, context);
    return new FlowdockChallengeException(
      `${this.publicUrl}/authorization?claim=${encodeURIComponent(claim)}`,
    );
  }

  private issuer(): ClaimIssuer {
    // Resolved lazily: AuthModule provides it and imports this module (no cycle).
    try {
      return this.moduleRef.get<ClaimIssuer>(CLAIM_ISSUER, { strict: false });
    } catch {
      throw new Error(
        'No ClaimIssuer is provided (CLAIM_ISSUER): the Auth module must provide it to answer challenges',
      );
    }
  }
}
