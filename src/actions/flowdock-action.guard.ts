import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { LinkedAccountService } from '../auth/linked-account.service';
import { FlowdockActionRequest } from './flowdock-action.types';
import { FlowdockActionVerifier } from './flowdock-action.verifier';
import { UsedActionTokenStore } from './used-action-token.store';

export type RequestWithFlowdockAction = FastifyRequest & {
  rawBody?: Buffer;
  flowdockAction?: FlowdockActionRequest;
};

/**
 * Lets through only UpdateAction requests that Flowdock signed, for this URL,
 * once, and finds the GitHub account the clicking user acts as. The checks
 * live in FlowdockActionVerifier; the handler gets the result through
 * @FlowdockClick().
 */
@Injectable()
export class FlowdockActionGuard implements CanActivate {
  constructor(
    private readonly verifier: FlowdockActionVerifier,
    private readonly usedTokens: UsedActionTokenStore,
    private readonly accounts: LinkedAccountService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithFlowdockAction>();
    const header = request.headers['flowdock-token'];
    const token = Array.isArray(header) ? undefined : header;
    const verified = this.verifier.verify({
      token,
      rawBody: request.rawBody,
      path: request.url,
    });
    // Who the user acts as is looked up while the token is spent (two round trips at once);
    // nothing acts with it unless the token was fresh (a replay may at most renew a GitHub
    // token that was due for renewal anyway). The handler awaits it; a failure seen only here
    // (a replay) is nobody's to report.
    const actingAs = this.accounts.actingAs(verified.userId);
    actingAs.catch(() => undefined);
    if (!(await this.usedTokens.useOnce(token as string, verified.expiresAt))) {
      throw new UnauthorizedException('The FLOWDOCK-TOKEN was already used');
    }
    request.flowdockAction = { userId: verified.userId, action: verified.action, actingAs };
    return true;
  }
}
