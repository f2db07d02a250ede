import {
  BadGatewayException,
  ConflictException,
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
import type { ThreadAction } from '../threads/thread-actions';
import { ReviewState, ThreadSnapshot } from '../threads/thread-snapshot';
import { isGitHubTimeout } from '../auth/github-octokit.factory';
import { AppConfig } from '../config/app.config';
import { DatabaseNotifications } from '../database/database-notifications';
import { pipelinedTransaction } from '../database/pipelined-transaction';
import { ThreadKey, ThreadUpdate } from '../threads/github-event.types';
import { GhIssue } from '../threads/github-payload.types';
import { issueSnapshot, pullRequestSnapshot } from '../threads/item-snapshot';
import { ThreadChange, ThreadChanges } from '../threads/thread-changes';
import { activityMessage } from '../threads/thread-messages';
import { itemTitle, refreshedTitle, reviewTitle } from '../threads/thread-titles';

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

/** What an action's answer from GitHub changes: the item, or its reviews (never CI). */
type ItemUpdate = Exclude<ThreadUpdate, { type: 'ci' }>;

/** The webhook GitHub sends for what an action did (its echo), and its action. */
const WEBHOOK: Record<ThreadAction, { event: 'item' | 'review'; action: string } | null> = {
  'assign-to-me': { event: 'item', action: 'assigned' },
  'unassign-me': { event: 'item', action: 'unassigned' },
  close: { event: 'item', action: 'closed' },
  reopen: { event: 'item', action: 'reopened' },
  approve: { event: 'review', action: 'submitted' },
  merge: { event: 'item', action: 'closed' },
  refresh: null,
};

/** The fields a thread shows, in one order, to tell whether a refresh changed anything. */
const shown = (s: ThreadSnapshot) =>
  JSON.stringify([
    s.title,
    s.body,
    s.state,
    s.author,
    [...s.assignees].sort(),
    [...s.labels].sort(),
    s.reviewers.map((r) => `${r.login}:${r.state}`).sort(),
    s.branches?.head,
    s.branches?.base,
    s.headSha,
    s.ci?.state,
  ]);

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
  ): Promise<{ snapshot: ThreadSnapshot; githubMs: number }> {
    const repository = `${target.owner}/${target.repo}`;
    const key: ThreadKey = {
      repository,
      kind: target.kind === 'pulls' ? 'pull' : 'issue',
      number: target.number,
    };
    // Read while GitHub answers; awaited (and its failure seen) only once GitHub has.
    const routing = this.changes.routing([repository]);
    routing.catch(() => undefined);
    const calling = performance.now();
    const update = await this.callGitHub(octokit, login, target, action, requestId);
    const githubMs = performance.now() - calling;

    if (action === 'assign-to-me' && !update.snapshot.assignees.includes(login)) {
      // GitHub answers 201 but leaves out assignees it cannot assign.
      throw new ForbiddenException(
        `GitHub did not assign @${login}: only people with triage or write access to ${repository} can be assigned`,
      );
    }

    const noun = key.kind === 'pull' ? 'pull request' : 'issue';
    const echo = WEBHOOK[action];
    const title =
      action === 'approve'
        ? reviewTitle('approved')!
        : action === 'merge'
          ? itemTitle('closed', noun, { merged: true })!
          : action === 'refresh'
            ? refreshedTitle()
            : itemTitle(echo!.action, noun, { assignee: login })!;
    const change: ThreadChange = {
      kind:
        echo?.event === 'review'
          ? `pull_request_review.${echo.action}`
          : `${key.kind === 'pull' ? 'pull_request' : 'issues'}.${echo?.action ?? 'refreshed'}`,
      sender: { login, type: 'User' },
      update,
      message: activityMessage({ login }, title),
      ...(echo
        ? {
            expectEcho: {
              action: action === 'approve' ? 'approved' : echo.action,
              actor: login,
              subject: action.endsWith('me') ? login : null,
            },
          }
        : {}),
      announceIf: (before, after) => this.changed(action, login, before, after),
    };
    // Two round trips: BEGIN, the lock and the load; then the writes and COMMIT. The commit
    // does not wait for the disk: if a crash lost it, GitHub's webhook for the change (whose
    // echo would be lost with it) would update and announce the thread instead; a lost
    // refresh, which changes nothing on GitHub, is one click away.
    // The routing is awaited before the transaction takes its connection: holding one while
    // waiting for another could exhaust the pool under load.
    const routed = await routing;
    const [applied] = await pipelinedTransaction(
      this.dataSource,
      async (tx) => {
        await this.changes.lock(tx, [key], true);
        return this.changes.apply(tx, [{ key, changes: [change] }], routed);
      },
      { waitForFlush: false },
    );
    const [result] = applied.results;
    if (!applied.snapshot) throw new Error(`The thread could not be updated: ${result.reason}`);
    if (result.messages > 0) this.notifications.notify('flowdock_outbox');
    return { snapshot: applied.snapshot, githubMs };
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
      case 'approve':
        return !before.reviewers.some((r) => r.login === login && r.state === 'approved');
      case 'merge':
        return before.state !== 'merged';
      case 'refresh':
        return shown(before) !== shown(after);
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
    const headers: Record<string, string> = requestId ? { 'x-request-id': requestId } : {};
    const issue = { owner, repo, issue_number: number, headers };
    try {
      if (action === 'refresh') return await this.read(octokit, owner, repo, kind, number);
      if (action === 'approve') {
        await octokit.rest.pulls.createReview({
          owner,
          repo,
          pull_number: number,
          event: 'APPROVE',
          headers,
        });
        const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
        return {
          type: 'review',
          snapshot: pullRequestSnapshot(data, repository),
          updatedAt: data.updated_at,
          reviewer: login,
          state: 'approved',
        };
      }
      if (action === 'merge') return await this.merge(octokit, owner, repo, number, headers);
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

  /**
   * Merges with the method the repository allows (a merge commit, else squash,
   * else rebase), at the head GitHub showed, only when GitHub reports the pull
   * request mergeable; GitHub's refusal (conflict, failing checks, branch
   * protection) comes back as a 409 with its reason.
   */
  private async merge(
    octokit: Octokit,
    owner: string,
    repo: string,
    number: number,
    headers: Record<string, string>,
  ): Promise<ItemUpdate> {
    const item = `${owner}/${repo}#${number}`;
    const [{ data: repository }, { data: pull }] = await Promise.all([
      octokit.rest.repos.get({ owner, repo }),
      octokit.rest.pulls.get({ owner, repo, pull_number: number }),
    ]);
    if (pull.merged) throw new ConflictException(`${item} is already merged`);
    if (pull.state !== 'open') throw new ConflictException(`${item} is closed: reopen it first`);
    if (pull.draft)
      throw new ConflictException(`${item} is a draft: mark it ready for review first`);
    if (pull.mergeable === false) {
      throw new ConflictException(`GitHub reports that ${item} has conflicts with its base branch`);
    }
    const method = repository.allow_merge_commit
      ? 'merge'
      : repository.allow_squash_merge
        ? 'squash'
        : 'rebase';
    try {
      await octokit.rest.pulls.merge({
        owner,
        repo,
        pull_number: number,
        merge_method: method,
        sha: pull.head.sha,
        headers,
      });
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 405 || status === 409) {
        const reason = (error as { response?: { data?: { message?: string } } }).response?.data
          ?.message;
        throw new ConflictException(`GitHub did not merge ${item}: ${reason ?? `HTTP ${status}`}`);
      }
      throw error;
    }
    const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
    return {
      type: 'item',
      snapshot: pullRequestSnapshot(data, `${owner}/${repo}`),
      updatedAt: data.updated_at,
    };
  }

  /**
   * The item as GitHub shows it now, with its reviewers' latest verdicts: what
   * a thread that missed webhooks is rewritten from.
   */
  private async read(
    octokit: Octokit,
    owner: string,
    repo: string,
    kind: ActionTarget['kind'],
    number: number,
  ): Promise<ItemUpdate> {
    const repository = `${owner}/${repo}`;
    if (kind === 'issues') {
      const { data } = await octokit.rest.issues.get({ owner, repo, issue_number: number });
      return {
        type: 'refresh',
        snapshot: issueSnapshot(data as GhIssue, repository),
        updatedAt: data.updated_at,
      };
    }
    const [{ data }, { data: reviews }] = await Promise.all([
      octokit.rest.pulls.get({ owner, repo, pull_number: number }),
      octokit.rest.pulls.listReviews({ owner, repo, pull_number: number, per_page: 100 }),
    ]);
    const snapshot = pullRequestSnapshot(data, repository);
    const verdicts = new Map<string, ReviewState>();
    for (const review of reviews) {
      const login = review.user?.login;
      const state = review.state.toLowerCase();
      if (!login) continue;
      if (state === 'dismissed') verdicts.delete(login);
      else if (state === 'approved' || state === 'changes_requested') verdicts.set(login, state);
      else if (state === 'commented' && !verdicts.has(login)) verdicts.set(login, 'commented');
    }
    const requested = snapshot.reviewers.filter((r) => !verdicts.has(r.login));
    const reviewers = [...requested, ...[...verdicts].map(([login, state]) => ({ login, state }))];
    return { type: 'refresh', snapshot: { ...snapshot, reviewers }, updatedAt: data.updated_at };
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
      case 422: {
        const first = message?.errors?.[0] as string | { message?: string } | undefined;
        return new UnprocessableEntityException(
          `GitHub refused the change to ${item}: ${(typeof first === 'string' ? first : first?.message) ?? message?.message ?? 'validation failed'}`,
        );
      }
      default:
        this.logger.warn({ status, err: error }, `GitHub call for ${item} failed`);
        return new BadGatewayException(
          `GitHub is unavailable right now${status ? ` (HTTP ${status})` : ''}; try again in a moment`,
        );
    }
  }
}
