import {
  BadRequestException,
  Controller,
  HttpCode,
  Logger,
  Param,
  Post,
  Req,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { LinkedAccountService } from '../auth/linked-account.service';
import { FlowdockAction } from '../flowdock/flowdock-action.decorator';
import type { FlowdockActionRequest } from '../flowdock/flowdock-action.types';
import { FlowdockChallenges } from '../flowdock/flowdock-challenge';
import { FlowdockUser } from '../flowdock/flowdock-user.decorator';
import { ThreadState } from '../flowdock/thread-snapshot';
import {
  ActionTarget,
  GitHubActionsService,
  GitHubUnauthorizedError,
  THREAD_ACTIONS,
  ThreadAction,
} from './github-actions.service';

interface ActionParams {
  owner: string;
  repo: string;
  kind: string;
  number: string;
  action: string;
}

/** GitHub's account names: letters, digits, inner "_" (managed users) and single inner hyphens, up to 39. */
export const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9_]|-(?=[A-Za-z0-9_])){0,38}$/;
/** GitHub's repository names: letters, digits, ".", "_", "-", up to 100; not "." or "..". */
export const REPO = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;
/** Written in decimal digits only: "0x10", "1e3" or " 2" name no item. */
export const NUMBER = /^[1-9][0-9]{0,9}$/;

function target(params: ActionParams): { target: ActionTarget; action: ThreadAction } {
  const number = NUMBER.test(params.number) ? Number(params.number) : NaN;
  const problems = [
    OWNER.test(params.owner) ? null : 'owner is not a GitHub account name',
    REPO.test(params.repo) ? null : 'repo is not a GitHub repository name',
    params.kind === 'pulls' || params.kind === 'issues' ? null : 'kind must be pulls or issues',
    Number.isSafeInteger(number) ? null : 'number must be a positive integer in decimal digits',
    (THREAD_ACTIONS as readonly string[]).includes(params.action)
      ? null
      : `action must be one of ${THREAD_ACTIONS.join(', ')}`,
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

/**
 * Flowdock UpdateAction targets. The guard has verified the request; an
 * unlinked user (or one whose GitHub token stopped working) gets the
 * challenge; everyone else acts on GitHub as themselves.
 */
@Controller('flowdock/actions')
export class ActionsController {
  private readonly logger = new Logger(ActionsController.name);

  constructor(
    private readonly accounts: LinkedAccountService,
    private readonly challenges: FlowdockChallenges,
    private readonly actions: GitHubActionsService,
  ) {}

  @Post(':owner/:repo/:kind/:number/:action')
  @HttpCode(200)
  @FlowdockAction()
  async act(
    @Param() params: ActionParams,
    @FlowdockUser() clicked: FlowdockActionRequest,
    @Req() req: FastifyRequest,
  ): Promise<{ status: ThreadState; assignees: string[] }> {
    const { target: item, action } = target(params);
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
        String(req.id),
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
