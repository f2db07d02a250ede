import { THREAD_ACTIONS, ThreadAction } from '../threads/thread-actions';
import { HttpException, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClaimedActionOutcome, ClaimedActions } from '../auth/claimed-actions';
import { LinkedAccountService } from '../auth/linked-account.service';
import { AppConfig } from '../config/app.config';
import type { ClaimedAction } from '../auth/claim-context';
import { ActionOutcome, Metrics } from '../metrics/metrics';
import {
  ActionTarget,
  GitHubActionsService,
  GitHubUnauthorizedError,
} from './github-actions.service';

const DONE: Record<ThreadAction, (item: string) => string> = {
  'assign-to-me': (item) => `You are now assigned to ${item}.`,
  'unassign-me': (item) => `You are no longer assigned to ${item}.`,
  close: (item) => `${item} is closed.`,
  reopen: (item) => `${item} is open.`,
  approve: (item) => `You approved ${item}.`,
  merge: (item) => `${item} is merged.`,
  refresh: (item) => `The thread of ${item} shows what GitHub shows now.`,
};

/**
 * Performs the action a person clicked before they were linked, as soon as
 * their link is stored (the end of the linking flow): the same action, the
 * same checks and the same thread update as a click of a linked user.
 */
@Injectable()
export class ActionAfterLink implements OnModuleInit {
  private readonly logger = new Logger('ActionAfterLink');
  private readonly githubUrl: string;

  constructor(
    private readonly claimed: ClaimedActions,
    private readonly accounts: LinkedAccountService,
    private readonly actions: GitHubActionsService,
    private readonly metrics: Metrics,
    config: ConfigService<AppConfig, true>,
  ) {
    this.githubUrl = config.get('github', { infer: true }).url;
  }

  onModuleInit(): void {
    this.claimed.performWith((flowdockUserId, action) => this.perform(flowdockUserId, action));
  }

  private async perform(
    flowdockUserId: string,
    claimed: ClaimedAction,
  ): Promise<ClaimedActionOutcome> {
    // A claimed action names its target as the action route does.
    const target: ActionTarget = claimed;
    const item = `${target.owner}/${target.repo}#${target.number}`;
    const itemUrl = `${this.githubUrl}/${target.owner}/${target.repo}/${target.kind === 'pulls' ? 'pull' : 'issues'}/${target.number}`;
    const notDone = (why: string) => ({ done: false, message: why, itemUrl });
    if (!(THREAD_ACTIONS as readonly string[]).includes(claimed.action)) {
      return notDone(
        `The action you clicked ("${claimed.action}") is not one the bridge performs.`,
      );
    }
    const action = claimed.action as ThreadAction;
    const actor = await this.accounts.actingAs(flowdockUserId);
    if (!actor) return notDone('The new link cannot be used, so the action was not performed.');
    const started = performance.now();
    const done = (outcome: ActionOutcome) =>
      this.metrics.actionDone(action, outcome, (performance.now() - started) / 1000);
    try {
      await this.actions.perform(actor.octokit, actor.login, target, action);
      done('performed');
    } catch (error) {
      const refused =
        error instanceof GitHubUnauthorizedError ||
        (error instanceof HttpException && error.getStatus() < 500);
      done(refused ? 'refused' : 'failed');
      if (error instanceof GitHubUnauthorizedError) {
        return notDone(
          'GitHub refused the authorization just given, so the action was not performed.',
        );
      }
      if (error instanceof HttpException && error.getStatus() < 500) {
        return notDone(`The action was not performed: ${error.message}`);
      }
      this.logger.warn(
        `The action clicked before linking (${claimed.action} on ${item}) failed: ${(error as Error).message}`,
      );
      return notDone(
        error instanceof HttpException
          ? `The action was not performed: ${error.message}`
          : 'The action could not be performed because of an error on the bridge; click it again in Flowdock.',
      );
    }
    this.logger.log(`Performed ${claimed.action} on ${item}, clicked before linking`);
    return { done: true, message: DONE[action](item), itemUrl };
  }
}
