import { Catch } from '@nestjs/common';
import { FlowdockRefusedError, FlowdockUnavailableError } from '../flowdock/flowdock-errors';
import { HtmlErrorPageFilter } from '../http/html-error-page.filter';
import { FAILURE_PAGES, FailureKind, Page, sendPage } from './auth-pages';
import { ClaimError } from './claim.service';
import { GitHubRefusedError, GitHubUnavailableError } from './github-oauth.service';
import { StateError } from './oauth-state.service';

/** A failure with its page; thrown by the linking controllers. */
export class AuthPageException extends Error {
  constructor(
    readonly kind: FailureKind,
    /** Sentences naming the people involved, in place of the page's general ones. */
    readonly details?: Pick<Page, 'message' | 'next'>,
  ) {
    super(`Linking failed: ${kind}`);
    this.name = 'AuthPageException';
  }
}

function kindOf(exception: unknown): FailureKind | undefined {
  if (exception instanceof AuthPageException) return exception.kind;
  if (exception instanceof ClaimError) return `claim-${exception.problem}`;
  if (exception instanceof StateError) return `state-${exception.problem}`;
  if (exception instanceof FlowdockRefusedError) return 'flowdock-refused';
  if (exception instanceof FlowdockUnavailableError) return 'flowdock-unreachable';
  if (exception instanceof GitHubRefusedError) return 'github-refused';
  if (exception instanceof GitHubUnavailableError) return 'github-unreachable';
  return undefined;
}

/** The linking and account routes' failure pages. */
@Catch()
export class AuthPageFilter extends HtmlErrorPageFilter {
  constructor() {
    super({
      context: 'Linking',
      send: sendPage,
      named(exception) {
        const kind = kindOf(exception);
        if (!kind) return undefined;
        const details = exception instanceof AuthPageException ? exception.details : undefined;
        // The message names the failure kind or the provider's error code only.
        return {
          page: { ...FAILURE_PAGES[kind], ...details },
          warning: (exception as Error).message,
        };
      },
      refused: (exception) => ({
        page: FAILURE_PAGES['bad-callback'],
        warning: `Linking request refused: ${exception.message}`,
      }),
      unexpected: () => FAILURE_PAGES.unexpected,
    });
  }
}
