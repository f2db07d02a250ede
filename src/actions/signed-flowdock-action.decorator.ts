import { applyDecorators, UseFilters, UseGuards } from '@nestjs/common';
import { FlowdockActionGuard } from './flowdock-action.guard';
import { FlowdockChallengeFilter } from '../auth/flowdock-challenge';

/**
 * Marks an UpdateAction endpoint: only verified Flowdock requests get in
 * (FlowdockActionGuard), and a thrown FlowdockChallengeException becomes
 * Flowdock's authentication challenge (FlowdockChallengeFilter).
 */
export const SignedFlowdockAction = () =>
  applyDecorators(UseGuards(FlowdockActionGuard), UseFilters(FlowdockChallengeFilter));
