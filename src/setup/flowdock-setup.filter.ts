import { Catch } from '@nestjs/common';
import { sendPage } from '../auth/auth-pages';
import { StateError } from '../auth/oauth-state.service';
import { TokenDecryptionError } from '../crypto/token-cipher';
import {
  FlowdockError,
  FlowdockRefusedError,
  FlowdockUnavailableError,
} from '../flowdock/flowdock-errors';
import { HtmlErrorPageFilter } from '../http/html-error-page.filter';
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
 * The setup routes' failure pages: what was (not) connected. Messages logged
 * here name the failure or Flowdock's answer, never a token.
 */
@Catch()
export class FlowdockSetupFilter extends HtmlErrorPageFilter {
  constructor() {
    super({
      context: 'FlowdockSetup',
      send: sendPage,
      named(exception) {
        if (exception instanceof SetupIncompleteError) {
          // Already logged with the source ids by the service.
          const status = exception.reason instanceof FlowdockError ? 502 : 500;
          return { page: incompletePage(exception.orphanSources, status) };
        }
        const kind = kindOf(exception);
        if (!kind) return undefined;
        return { page: SETUP_FAILURE_PAGES[kind], warning: (exception as Error).message };
      },
      refused: (exception) => ({
        page: SETUP_FAILURE_PAGES['bad-callback'],
        warning: `Setup request refused: ${exception.message}`,
      }),
      unexpected: () => SETUP_FAILURE_PAGES.unexpected,
    });
  }
}
