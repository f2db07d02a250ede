import { ACTION_ROUTE, ThreadAction } from '../threads/thread-actions';
import { Controller, HttpCode, HttpException, Logger, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionRouteParams } from './dto/action-route.dto';
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

/** How an action that threw ended, for bridge_actions_total. */
function failedActionOutcome(error: unknown): ActionOutcome {
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
    private readonly challenges: FlowdockChallenges,
    private readonly actions: GitHubActionsService,
    private readonly metrics: Metrics,
  ) {}

  @Post(ACTION_ROUTE)
  @HttpCode(200)
  @SignedFlowdockAction()
  async act(
    @Param() params: ActionRouteParams,
    @FlowdockClick() clicked: FlowdockActionRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: ThreadState; assignees: string[] }> {
    const { target: item, action } = params;
    const started = performance.now();
    let outcome: ActionOutcome = 'failed';
    try {
      const { githubMs, ...answer } = await this.perform(item, action, clicked, String(req.id));
      outcome = 'performed';
      // How long the bridge waited for GitHub, and its own time from the request's arrival
      // (routing, verification, link lookup, thread change) without that wait.
      const own = reply.elapsedTime - githubMs;
      void reply.header(
        'server-timing',
        `github;dur=${githubMs.toFixed(2)}, bridge;dur=${own.toFixed(2)}`,
      );
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
  ): Promise<{ status: ThreadState; assignees: string[]; githubMs: number }> {
    // An unlinked user's claim carries the click, to be performed once the link is stored.
    const context = { name: clicked.action.agent?.name, then: { ...item, action } };
    const actor = await clicked.actingAs;
    if (!actor) throw await this.challenges.challenge(clicked.userId, context);
    try {
      const { snapshot, githubMs } = await this.actions.perform(
        actor.octokit,
        actor.login,
        item,
        action,
        requestId,
      );
      return { status: snapshot.state, assignees: snapshot.assignees, githubMs };
    } catch (error) {
      if (!(error instanceof GitHubUnauthorizedError)) throw error;
      // actingAs's 401 hook has removed the link (only the one holding that token).
      this.logger.warn(`GitHub refused the token of Flowdock user ${clicked.userId}; challenging`);
      throw await this.challenges.challenge(clicked.userId, context);
    }
  }
}
