import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { sendPage } from '../auth/auth-pages';
import { StateError } from '../auth/oauth-state.service';
import { TokenDecryptionError } from '../crypto/token-cipher';
import {
  FlowdockError,
  FlowdockRefusedError,
  FlowdockUnavailableError,
} from '../flowdock/flowdock-errors';
import { incompletePage, SETUP_FAILURE_PAGES, SetupFailureKind } from './flowdock-setup.pages';
import { SetupIncompleteError } from './flowdock-setup.service';

/** A failure with its page; thrown by the setup controller. */
export class SetupPageException extends Error {
  constructor(readonly kind: SetupFailureKind) {
    super(`Flowdock setup failed: ${kind}`);
    this.name = 'SetupPageException';
  }
}

function kindOf(exception: unknown): SetupFailureKind | undefined {
  if (exception instanceof SetupPageException) return exception.kind;
  if (exception instanceof StateError) return `state-${exception.problem}`;
  if (exception instanceof TokenDecryptionError) return 'bad-form';
  if (exception instanceof FlowdockRefusedError) return 'flowdock-refused';
  if (exception instanceof FlowdockUnavailableError) return 'flowdock-unreachable';
  return undefined;
}

/**
 * The setup routes are opened by people in a browser: every failure is an
 * HTML page saying what was (not) connected, never JSON or a stack trace.
 * Messages logged here name the failure or Flowdock's answer, never a token.
 */
@Catch()
export class FlowdockSetupFilter implements ExceptionFilter {
  private readonly logger = new Logger('FlowdockSetup');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof SetupIncompleteError) {
      // Already logged with the source ids by the service.
      const status = exception.reason instanceof FlowdockError ? 502 : 500;
      if (!reply.sent) void sendPage(reply, incompletePage(exception.orphanSources, status));
      return;
    }
    let kind = kindOf(exception);
    if (kind) {
      this.logger.warn((exception as Error).message);
    } else if (exception instanceof HttpException && exception.getStatus() < 500) {
      kind = 'bad-callback';
      this.logger.warn(`Setup request refused: ${exception.message}`);
    } else {
      kind = 'unexpected';
      this.logger.error(exception);
    }
    if (reply.sent) return;
    void sendPage(reply, SETUP_FAILURE_PAGES[kind]);
  }
}
