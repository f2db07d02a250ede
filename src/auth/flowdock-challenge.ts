import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../config/app.config';
import type { ClaimContext } from './claim-context';
import { ClaimService } from './claim.service';

/**
 * Flowdock's authentication challenge (its thread actions API): the user must link
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

/** Builds challenges: a new claim for the user, in the linking URL. */
@Injectable()
export class FlowdockChallenges {
  private readonly publicUrl: string;

  constructor(
    private readonly claims: ClaimService,
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
    const claim = await this.claims.issueClaim(flowdockUserId, context);
    return new FlowdockChallengeException(
      `${this.publicUrl}/authorization?claim=${encodeURIComponent(claim)}`,
    );
  }
}
