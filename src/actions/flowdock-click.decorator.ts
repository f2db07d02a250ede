import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FlowdockActionRequest } from './flowdock-action.types';
import type { RequestWithFlowdockAction } from './flowdock-action.guard';

/**
 * The verified click, an UpdateAction request: `{ userId, action: { name, agent?, urlTemplate } }`.
 * Only on routes behind FlowdockActionGuard (or @SignedFlowdockAction()).
 */
export const FlowdockClick = createParamDecorator(
  (_data: unknown, context: ExecutionContext): FlowdockActionRequest => {
    const request = context.switchToHttp().getRequest<RequestWithFlowdockAction>();
    if (!request.flowdockAction) {
      throw new Error('@FlowdockClick() used on a route without FlowdockActionGuard');
    }
    return request.flowdockAction;
  },
);
