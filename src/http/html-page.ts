import type { FastifyReply } from 'fastify';
import { escapeHtml } from '../common/html';
import { sendHtml } from './html-response';

/**
 * The one shell of the bridge's message pages (linking, setup, the delivery
 * log, refusals): a title, a sentence, a next step, and optionally a form.
 */
export interface Page {
  status: number;
  title: string;
  /** Plain sentences; escaped when rendered. */
  message: string;
  next: string;
  /** Trusted HTML after the text (e.g. a form), built with escapeHtml. */
  extraHtml?: string;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}.next{background:#f4f4f4;padding:.8em 1em;border-radius:6px}
button{font:inherit;padding:.4em 1em}`;

export function renderPage(page: Page): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · Flowdock–GitHub bridge</title>
<style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<p id="message">${escapeHtml(page.message)}</p>
<p class="next" id="next">${escapeHtml(page.next)}</p>
${page.extraHtml ?? ''}
</body></html>`;
}

/**
 * A page as the HTML a route returns (its @HtmlPage() sets the headers), with
 * the page's status set on the reply.
 */
export function pageHtml(reply: FastifyReply, page: Page): string {
  void reply.status(page.status);
  return renderPage(page);
}

/**
 * Sends a page. The URLs that lead here carry claims, codes and states, so the
 * page is never cached, sends no referrer, and loads nothing from elsewhere.
 */
export function sendPage(reply: FastifyReply, page: Page): FastifyReply {
  return sendHtml(reply, page.status, renderPage(page), { forms: true });
}
