import {
  BadGatewayException,
  ForbiddenException,
  GatewayTimeoutException,
  HttpException,
  Injectable,
  Logger,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { DataSource } from 'typeorm';
import { ConfigService } from '@nestjs/config';
import { ThreadSnapshot } from '../flowdock/thread-snapshot';
import { isGitHubTimeout } from '../auth/github-octokit.factory';
import { AppConfig } from '../config/app.config';
import { DatabaseNotifications } from '../database/database-notifications';
import { ThreadKey, ThreadUpdate } from './github-event.types';
import { GhIssue } from './github-payload.types';
import { issueSnapshot, pullRequestSnapshot } from './item-snapshot';
import { ThreadChange, ThreadChanges } from './thread-changes';
import { itemTitle } from './thread-titles';

export const THREAD_ACTIONS = ['assign-to-me', 'unassign-me', 'close', 'reopen'] as const;
export type ThreadAction = (typeof THREAD_ACTIONS)[number];

export interface ActionTarget {
  owner: string;
  repo: string;
  kind: 'pulls' | 'issues';
  number: number;
}

/** GitHub answered 401: the user's token no longer works (revoked, expired). */
export class GitHubUnauthorizedError extends Error {
  constructor() {
    super('GitHub refused the linked token');
    this.name = 'GitHubUnauthorizedError';
  }
}

/** What an action's answer from GitHub changes: the item (never CI). */
type ItemUpdate = Exclude<ThreadUpdate, { type: 'ci' | 'review' }>;

const WEBHOOK_ACTION: Record<ThreadAction, string> = {
  'assign-to-me': 'assigned',
  'unassign-me': 'unassigned',
  close: 'closed',
  reopen: 'reopened',
};

/**
 * Performs a thread action on GitHub as the clicking user (their Octokit),
 * then updates the thread at once from GitHub's answer and announces the
 * change, leaving an echo so GitHub's webhook for it is not announced again.
 */
@Injectable()
export class GitHubActionsService {
  private readonly logger = new Logger(GitHubActionsService.name);

  private readonly timeoutSeconds: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly changes: ThreadChanges,
    private readonly notifications: DatabaseNotifications,
    config: ConfigService<AppConfig, true>,
  ) {
    this.timeoutSeconds = config.get('github', { infer: true }).timeoutMs / 1000;
  }

  async perform(
    octokit: Octokit,
    login: string,
    target: ActionTarget,
    action: ThreadAction,
    requestId?: string,
  ): Promise<ThreadSnapshot> {
    const repository = `${target.owner}/${target.repo}`;
    const key: ThreadKey = {
      repository,
      kind: target.kind === 'pulls' ? 'pull' : 'issue',
      number: target.number,
    };
    const update = await this.callGitHub(octokit, login, target, action, requestId);

    if (action === 'assign-to-me' && !update.snapshot.assignees.includes(login)) {
      // GitHub answers 201 but leaves out assignees it cannot assign.
      throw new ForbiddenException(
        `GitHub did not assign @${login}: only people with triage or write access to ${repository} can be assigned`,
      );
    }

    const webhookAction = WEBHOOK_ACTION[action];
    const change: ThreadChange = {
      kind: `${key.kind === 'pull' ? 'pull_request' : 'issues'}.${webhookAction}`,
      sender: { login, type: 'User' },
      update,
      message: {
        event: 'activity',
        title: itemTitle(webhookAction, key.kind === 'pull' ? 'pull request' : 'issue', {
          assignee: login,
        })!,
        author: { name: login },
      },
      expectEcho: {
        action: webhookAction,
        actor: login,
        subject: action.endsWith('me') ? login : null,
      },
      announceIf: (before, after) => this.changed(action, login, before, after),
    };
    const [applied] = await this.dataSource.transaction(async (manager) => {
      await this.changes.lock(manager, [key], true);
      return this.changes.apply(manager, [{ key, changes: [change] }]);
    });
    const [result] = applied.results;
    if (!applied.snapshot) throw new Error(`The thread could not be updated: ${result.reason}`);
    if (result.messages > 0) this.notifications.notify('flowdock_outbox');
    return applied.snapshot;
  }

  /** Whether the action changed what the thread showed (a repeated click changes nothing). */
  private changed(
    action: ThreadAction,
    login: string,
    before: ThreadSnapshot | null,
    after: ThreadSnapshot,
  ) {
    if (!before) return true;
    switch (action) {
      case 'assign-to-me':
        return !before.assignees.includes(login);
      case 'unassign-me':
        return before.assignees.includes(login);
      case 'close':
        return before.state === 'open' || before.state === 'draft';
      case 'reopen':
        return after.state !== before.state;
    }
  }

  private async callGitHub(
    octokit: Octokit,
    login: string,
    { owner, repo, kind, number }: ActionTarget,
    action: ThreadAction,
    requestId?: string,
  ): Promise<ItemUpdate> {
    const repository = `${owner}/${repo}`;
    const headers = requestId ? { 'x-request-id': requestId } : {};
    const issue = { owner, repo, issue_number: number, headers };
    try {
      if (action === 'assign-to-me' || action === 'unassign-me') {
        const { data } =
          action === 'assign-to-me'
            ? await octokit.rest.issues.addAssignees({ ...issue, assignees: [login] })
            : await octokit.rest.issues.removeAssignees({ ...issue, assignees: [login] });
        return this.fromIssue(data as GhIssue, repository, kind);
      }
      const state = action === 'close' ? 'closed' : 'open';
      if (kind === 'pulls') {
        const { data } = await octokit.rest.pulls.update({
          owner,
          repo,
          pull_number: number,
          state,
          headers,
        });
        const snapshot = pullRequestSnapshot(data, repository);
        return { type: 'item', snapshot, updatedAt: data.updated_at };
      }
      const { data } = await octokit.rest.issues.update({ ...issue, state });
      return this.fromIssue(data as GhIssue, repository, kind);
    } catch (error) {
      throw this.explain(error, login, repository, kind, number);
    }
  }

  private fromIssue(data: GhIssue, repository: string, kind: ActionTarget['kind']): ItemUpdate {
    const snapshot = {
      ...issueSnapshot(data, repository),
      kind: kind === 'pulls' ? ('pull' as const) : ('issue' as const),
    };
    return { type: kind === 'pulls' ? 'issue-view' : 'item', snapshot, updatedAt: data.updated_at };
  }

  /** GitHub's refusal as something the clicking person can act on. */
  private explain(
    error: unknown,
    login: string,
    repository: string,
    kind: string,
    number: number,
  ): Error {
    if (error instanceof HttpException) return error;
    const item = `${repository}#${number}`;
    if (isGitHubTimeout(error)) {
      // GitHub may still do it; the click's token is spent, so this request is never sent twice.
      this.logger.warn(`GitHub did not answer within ${this.timeoutSeconds} s for ${item}`);
      return new GatewayTimeoutException(
        `GitHub did not answer within ${this.timeoutSeconds} s. The change may still happen there: look at ${item} before clicking again`,
      );
    }
    const status = (error as { status?: number }).status;
    const message = (
      error as { response?: { data?: { message?: string; errors?: { message?: string }[] } } }
    ).response?.data;
    switch (status) {
      case 401:
        return new GitHubUnauthorizedError();
      case 403:
        return new ForbiddenException(
          `You don't have write access to ${repository} (GitHub account @${login})`,
        );
      case 404:
        return new NotFoundException(
          `${kind === 'pulls' ? 'Pull request' : 'Issue'} ${item} was not found on GitHub, or @${login} cannot see it`,
        );
      case 422:
        return new UnprocessableEntityException(
          `GitHub refused the change to ${item}: ${message?.errors?.[0]?.message ?? message?.message ?? 'validation failed'}`,
        );
      default:
        this.logger.warn({ status, err: error }, `GitHub call for ${item} failed`);
        return new BadGatewayException(
          `GitHub is unavailable right now${status ? ` (HTTP ${status})` : ''}; try again in a moment`,
        );
    }
  }
}
