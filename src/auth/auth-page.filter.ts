import { Catch } from '@nestjs/common';
import { FlowdockRefusedError, FlowdockUnavailableError } from '../flowdock/flowdock-errors';
import { HtmlErrorPageFilter, pagesByKind } from '../http/html-error-page.filter';
import { Page, sendPage } from '../http/html-page';
import { FAILURE_PAGES, FailureKind } from './auth-pages';
import { ClaimError } from './claim.service';
import { GitHubRefusedError, GitHubUnavailableError } from './github-oauth.service';
import { StateError, StateProblem } from './oauth-state.service';

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

/** How a Flowdock sign-in failed (its state check or Flowdock's answer), as a failure kind. */
export function signInFailureKind(
  exception: unknown,
): `state-${StateProblem}` | 'flowdock-refused' | 'flowdock-unreachable' | undefined {
  if (exception instanceof StateError) return `state-${exception.problem}`;
  if (exception instanceof FlowdockRefusedError) return 'flowdock-refused';
  if (exception instanceof FlowdockUnavailableError) return 'flowdock-unreachable';
  return undefined;
}

function kindOf(exception: unknown): FailureKind | undefined {
  if (exception instanceof AuthPageException) return exception.kind;
  if (exception instanceof ClaimError) return `claim-${exception.problem}`;
  if (exception instanceof GitHubRefusedError) return 'github-refused';
  if (exception instanceof GitHubUnavailableError) return 'github-unreachable';
  return signInFailureKind(exception);
}

/** The linking and account routes' failure pages. */
@Catch()
export class AuthPageFilter extends HtmlErrorPageFilter {
  constructor() {
    super(
      pagesByKind({
        context: 'Linking',
        send: sendPage,
        pages: FAILURE_PAGES,
        // Messages name the failure kind or the provider's error code only.
        kindOf,
        refused: 'Linking request refused',
        details: (exception) =>
          exception instanceof AuthPageException ? exception.details : undefined,
      }),
    );
  }
}
