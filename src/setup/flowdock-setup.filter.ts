import { Catch } from '@nestjs/common';
import { signInFailureKind } from '../auth/auth-page.filter';
import { sendPage } from '../http/html-page';
import { TokenDecryptionError } from '../crypto/token-cipher';
import { FlowdockError } from '../flowdock/flowdock-errors';
import { HtmlErrorPageFilter, pagesByKind } from '../http/html-error-page.filter';
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
  if (exception instanceof TokenDecryptionError) return 'bad-form';
  return signInFailureKind(exception);
}

/**
 * The setup routes' failure pages: what was (not) connected. Messages logged
 * here name the failure or Flowdock's answer, never a token.
 */
@Catch()
export class FlowdockSetupFilter extends HtmlErrorPageFilter {
  constructor() {
    const pages = pagesByKind({
      context: 'FlowdockSetup',
      send: sendPage,
      pages: SETUP_FAILURE_PAGES,
      kindOf,
      refused: 'Setup request refused',
    });
    super({
      ...pages,
      named(exception) {
        if (!(exception instanceof SetupIncompleteError)) return pages.named?.(exception);
        // Already logged with the source ids by the service.
        const status = exception.reason instanceof FlowdockError ? 502 : 500;
        return { page: incompletePage(exception.orphanSources, status) };
      },
    });
  }
}
