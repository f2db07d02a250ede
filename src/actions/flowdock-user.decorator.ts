import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FlowdockActionRequest } from './flowdock-action.types';
import type { RequestWithFlowdockAction } from './flowdock-action.guard';

/**
 * The verified UpdateAction request: `{ userId, action: { name, agent?, urlTemplate } }`.
 * Only on routes behind FlowdockActionGuard (or @FlowdockAction()).
 */
export const FlowdockUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): FlowdockActionRequest => {
    const request = context.switchToHttp().getRequest<RequestWithFlowdockAction>();
    if (!request.flowdockAction) {
      throw new Error('@FlowdockUser() used on a route without FlowdockActionGuard');
    }
    return request.flowdockAction;
  },
);
