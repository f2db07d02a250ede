import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Page } from './html-page';

/** A failure's page, and the warning to log (none when it was logged where it happened). */
interface FailurePage {
  page: Page;
  warning?: string;
}

/** What differs between the error pages of one group of browser routes. */
interface ErrorPages {
  /** The logger's context. */
  context: string;
  /** Sends a page as the routes' other pages are sent. */
  send(reply: FastifyReply, page: Page): FastifyReply;
  /** A failure these routes know by name, or undefined. */
  named?(exception: unknown): FailurePage | undefined;
  /** A request refused with an HttpException below 500. */
  refused(exception: HttpException): FailurePage;
  /** Anything else, logged as an error. */
  unexpected(exception: unknown): Page;
}

/**
 * Routes opened by people in a browser: every failure is an HTML page with a
 * sentence and a next step, never JSON or a stack trace. Subclasses give the
 * pages of their routes.
 */
@Catch()
export class HtmlErrorPageFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(private readonly pages: ErrorPages) {
    this.logger = new Logger(pages.context);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const page = this.pageFor(exception);
    if (reply.sent) return;
    void this.pages.send(reply, page);
  }

  private pageFor(exception: unknown): Page {
    const failure =
      this.pages.named?.(exception) ??
      (exception instanceof HttpException && exception.getStatus() < 500
        ? this.pages.refused(exception)
        : undefined);
    if (!failure) {
      this.logger.error(exception);
      return this.pages.unexpected(exception);
    }
    if (failure.warning !== undefined) this.logger.warn(failure.warning);
    return failure.page;
  }
}

/**
 * Error pages from a table of failure kinds that has 'bad-callback' (for a
 * refused request) and 'unexpected'. A named failure's message is logged as
 * a warning; a refused request's as `<refused>: <message>`.
 */
export function pagesByKind<Kind extends string>(options: {
  context: string;
  send: ErrorPages['send'];
  pages: Record<Kind | 'bad-callback' | 'unexpected', Page>;
  kindOf(exception: unknown): Kind | undefined;
  refused: string;
  /** Sentences of this failure in place of its kind's general ones. */
  details?(exception: unknown): Partial<Page> | undefined;
}): ErrorPages {
  const { pages, kindOf, details } = options;
  return {
    context: options.context,
    send: options.send,
    named(exception) {
      const kind = kindOf(exception);
      if (kind === undefined) return undefined;
      return {
        page: { ...pages[kind], ...details?.(exception) },
        warning: (exception as Error).message,
      };
    },
    refused: (exception) => ({
      page: pages['bad-callback'],
      warning: `${options.refused}: ${exception.message}`,
    }),
    unexpected: () => pages.unexpected,
  };
}
