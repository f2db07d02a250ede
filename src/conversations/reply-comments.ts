import { Injectable } from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { EntityManager } from 'typeorm';
import { isGitHubTimeout } from '../auth/github-octokit.factory';
import { ThreadSnapshot } from '../threads/thread-snapshot';
import { GitHubThreadStore } from '../threads/github-thread.store';

/** The echo action of a comment the bridge made: GitHub's `issue_comment.created` for it is not announced. */
const COMMENT_ECHO_ACTION = 'commented';

/** GitHub refused the comment (no access, item gone, locked conversation…): retrying will not help. */
export class CommentRefusedError extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'CommentRefusedError';
  }
}

/** GitHub refused the linked token (401): the link is removed by the Octokit's hook. */
export class CommentUnauthorizedError extends Error {
  constructor() {
    super('GitHub refused the linked token');
    this.name = 'CommentUnauthorizedError';
  }
}

/**
 * Posts a reply as a GitHub comment (`POST /repos/{owner}/{repo}/issues/{n}/comments`,
 * pull requests included) with the replier's own Octokit, inside the caller's
 * transaction: the thread's lock is held across the call, so GitHub's
 * `issue_comment.created` webhook for it waits until the echo (the comment's
 * id, with who made it) is recorded, and is then not announced again.
 */
@Injectable()
export class ReplyComments {
  constructor(private readonly store: GitHubThreadStore) {}

  async post(
    manager: EntityManager,
    actor: { login: string; octokit: Octokit },
    snapshot: Pick<ThreadSnapshot, 'repository' | 'kind' | 'number'>,
    body: string,
  ): Promise<string> {
    const key = { repository: snapshot.repository, kind: snapshot.kind, number: snapshot.number };
    await this.store.lock(manager, [key], true);
    const [owner, repo] = snapshot.repository.split('/');
    let commentId: string;
    try {
      const { data } = await actor.octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: snapshot.number,
        body,
      });
      commentId = String(data.id);
    } catch (error) {
      throw explain(error, actor.login, snapshot);
    }
    await this.store.save(manager, {
      threads: [],
      usedEchoes: [],
      newEchoes: [
        { key, echo: { action: COMMENT_ECHO_ACTION, actor: actor.login, subject: commentId } },
      ],
    });
    return commentId;
  }
}

function explain(
  error: unknown,
  login: string,
  snapshot: Pick<ThreadSnapshot, 'repository' | 'number'>,
): Error {
  if (isGitHubTimeout(error)) return error as Error;
  const status = (error as { status?: number }).status;
  const item = `${snapshot.repository}#${snapshot.number}`;
  const githubMessage = (error as { response?: { data?: { message?: string } } }).response?.data
    ?.message;
  switch (status) {
    case 401:
      return new CommentUnauthorizedError();
    case 403:
      return new CommentRefusedError(
        403,
        `GitHub did not let @${login} comment on ${item}${githubMessage ? ` (${githubMessage})` : ''}`,
      );
    case 404:
    case 410:
      return new CommentRefusedError(
        status,
        `${item} was not found on GitHub, or @${login} cannot see it`,
      );
    case 422:
      return new CommentRefusedError(
        422,
        `GitHub refused the comment on ${item}: ${githubMessage ?? 'validation failed'}`,
      );
    default:
      return error as Error;
  }
}
