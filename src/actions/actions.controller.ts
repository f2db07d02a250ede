import {
  ACTION_ROUTE,
  PULL_REQUEST_ACTIONS,
  THREAD_ACTIONS,
  ThreadAction,
} from '../threads/thread-actions';
import {
  BadRequestException,
  Controller,
  HttpCode,
  HttpException,
  Logger,
  Param,
  Post,
  Req,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { LinkedAccountService } from '../auth/linked-account.service';
import { ITEM_NUMBER, OWNER, REPO } from '../common/ids';
import { SignedFlowdockAction } from './signed-flowdock-action.decorator';
import type { FlowdockActionRequest } from './flowdock-action.types';
import { FlowdockChallengeException, FlowdockChallenges } from '../auth/flowdock-challenge';
import { FlowdockClick } from './flowdock-click.decorator';
import { ThreadState } from '../threads/thread-snapshot';
import { ActionOutcome, Metrics } from '../metrics/metrics';
import {
  ActionTarget,
  GitHubActionsService,
  GitHubUnauthorizedError,
} from './github-actions.service';

interface ActionParams {
  owner: string;
  repo: string;
  kind: string;
  number: string;
  action: string;
}

function target(params: ActionParams): { target: ActionTarget; action: ThreadAction } {
  const number = ITEM_NUMBER.test(params.number) ? Number(params.number) : NaN;
  const problems = [
    OWNER.test(params.owner) ? null : 'owner is not a GitHub account name',
    REPO.test(params.repo) ? null : 'repo is not a GitHub repository name',
    params.kind === 'pulls' || params.kind === 'issues' ? null : 'kind must be pulls or issues',
    Number.isSafeInteger(number) ? null : 'number must be a positive integer in decimal digits',
    (THREAD_ACTIONS as readonly string[]).includes(params.action)
      ? null
      : `action must be one of ${THREAD_ACTIONS.join(', ')}`,
    params.kind === 'issues' && (PULL_REQUEST_ACTIONS as string[]).includes(params.action)
      ? `${params.action} is for pull requests only`
      : null,
  ].filter(Boolean);
  if (problems.length > 0) throw new BadRequestException(problems.join('; '));
  return {
    target: {
      owner: params.owner,
      repo: params.repo,
      kind: params.kind as ActionTarget['kind'],
      number,
    },
    action: params.action as ThreadAction,
  };
}

/** How an action that threw ended, for bridge_actions_total. */
export function failedActionOutcome(error: unknown): ActionOutcome {
  if (error instanceof FlowdockChallengeException) return 'challenged';
  return error instanceof HttpException && error.getStatus() < 500 ? 'refused' : 'failed';
}

/**
 * Flowdock UpdateAction targets. The guard has verified the request; an
 * unlinked user (or one whose GitHub token stopped working) gets the
 * challenge; everyone else acts on GitHub as themselves.
 */
@Controller()
export class ActionsController {
  private readonly logger = new Logger(ActionsController.name);

  constructor(
    private readonly accounts: LinkedAccountService,
    private readonly challenges: FlowdockChallenges,
    private readonly actions: GitHubActionsService,
    private readonly metrics: Metrics,
  ) {}

  @Post(ACTION_ROUTE)
  @HttpCode(200)
  @SignedFlowdockAction()
  async act(
    @Param() params: ActionParams,
    @FlowdockClick() clicked: FlowdockActionRequest,
    @Req() req: FastifyRequest,
  ): Promise<{ status: ThreadState; assignees: string[] }> {
    const { target: item, action } = target(params);
    const started = performance.now();
    let outcome: ActionOutcome = 'failed';
    try {
      const answer = await this.perform(item, action, clicked, String(req.id));
      outcome = 'performed';
      return answer;
    } catch (error) {
      outcome = failedActionOutcome(error);
      throw error;
    } finally {
      this.metrics.actionDone(action, outcome, (performance.now() - started) / 1000);
    }
  }

  private async perform(
    item: ActionTarget,
    action: ThreadAction,
    clicked: FlowdockActionRequest,
    requestId: string,
  ): Promise<{ status: ThreadState; assignees: string[] }> {
    // An unlinked user's claim carries the click, to be performed once the link is stored.
    const context = { name: clicked.action.agent?.name, then: { ...item, action } };
    const actor = await this.accounts.actingAs(clicked.userId);
    if (!actor) throw await this.challenges.challenge(clicked.userId, context);
    try {
      const snapshot = await this.actions.perform(
        actor.octokit,
        actor.login,
        item,
        action,
        requestId,
      );
      return { status: snapshot.state, assignees: snapshot.assignees };
    } catch (error) {
      if (!(error instanceof GitHubUnauthorizedError)) throw error;
      // actingAs's 401 hook has removed the link (only the one holding that token).
      this.logger.warn(`GitHub refused the token of Flowdock user ${clicked.userId}; challenging`);
      throw await this.challenges.challenge(clicked.userId, context);
    }
  }
}
