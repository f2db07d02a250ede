import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { FlowdockRefusedError, FlowdockUnavailableError } from '../flowdock/flowdock-errors';
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

/**
 * The linking routes are opened by people in a browser: every failure is an
 * HTML page with a sentence and a next step, never JSON or a stack trace.
 */
@Catch()
export class AuthPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('Linking');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let kind = kindOf(exception);
    if (kind) {
      // The message names the failure kind or the provider's error code only.
      this.logger.warn((exception as Error).message);
    } else if (exception instanceof HttpException && exception.getStatus() < 500) {
      kind = 'bad-callback';
      this.logger.warn(`Linking request refused: ${exception.message}`);
    } else {
      kind = 'unexpected';
      this.logger.error(exception);
    }
    if (reply.sent) return;
    const details = exception instanceof AuthPageException ? exception.details : undefined;
    void sendPage(reply, { ...FAILURE_PAGES[kind], ...details });
  }
}
