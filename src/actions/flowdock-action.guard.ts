import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { FlowdockActionRequest } from './flowdock-action.types';
import { FlowdockActionVerifier } from './flowdock-action.verifier';
import { UsedActionTokenStore } from './used-action-token.store';

export type RequestWithFlowdockAction = FastifyRequest & {
  rawBody?: Buffer;
  flowdockAction?: FlowdockActionRequest;
};

/**
 * Lets through only UpdateAction requests that Flowdock signed, for this URL,
 * once. The checks live in FlowdockActionVerifier; the handler gets the result
 * through @FlowdockClick().
 */
@Injectable()
export class FlowdockActionGuard implements CanActivate {
  constructor(
    private readonly verifier: FlowdockActionVerifier,
    private readonly usedTokens: UsedActionTokenStore,
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
    if (!(await this.usedTokens.useOnce(token as string, verified.expiresAt))) {
      throw new UnauthorizedException('The FLOWDOCK-TOKEN was already used');
    }
    request.flowdockAction = { userId: verified.userId, action: verified.action };
    return true;
  }
}
