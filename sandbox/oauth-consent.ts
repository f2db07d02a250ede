import { FastifyReply } from 'fastify';
import { escapeHtml } from '../src/common/html';

/** What both simulators' OAuth endpoints share: form fields, redirects, and the consent page. */
export type Fields = Record<string, string | undefined>;

/** The string (or number) values of a query or form body. */
export function fields(value: unknown): Fields {
  const out: Fields = {};
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (typeof v === 'string' || typeof v === 'number') out[key] = String(v);
    }
  }
  return out;
}

/** `uri` with the defined `params` set in its query. */
export function withParams(uri: string, params: Fields): string {
  const url = new URL(uri);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return url.toString();
}

/** A 400 page for a malformed authorize request (the app is not redirected to). */
export function authorizeErrorPage(reply: FastifyReply, service: string, message: string) {
  return reply
    .code(400)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><title>${escapeHtml(service)}: error</title><h1>Authorization error</h1><p id="error">${escapeHtml(message)}</p>`,
    );
}

export interface ConsentPage {
  /** "Flowdock (sandbox)", "GitHub (sandbox)" */
  service: string;
  /** e.g. "to access your Flowdock account" */
  request: string;
  scopes: string;
  /** Where the form posts (the same path as the authorize page). */
  action: string;
  /** The authorize parameters the form carries along. */
  forwarded: string[];
  query: Fields;
  users: { id: number; name: string; handle: string }[];
  /** The user checked at first (e.g. the one chosen in the team inbox); else the first. */
  selected?: number;
  approve: string;
  deny: string;
}

/** The authorize page: pick which sandbox user you are, then approve or deny. */
export function consentPage(page: ConsentPage): string {
  const hidden = page.forwarded
    .filter((name) => page.query[name] !== undefined)
    .map(
      (name) =>
        `<input type="hidden" name="${name}" value="${escapeHtml(page.query[name] ?? '')}">`,
    )
    .join('\n    ');
  const selected = page.users.some((u) => u.id === page.selected)
    ? page.selected
    : page.users[0]?.id;
  const users = page.users
    .map(
      (user) =>
        `<label><input type="radio" name="user_id" value="${user.id}"${user.id === selected ? ' checked' : ''}> ` +
        `${escapeHtml(user.name)} (@${escapeHtml(user.handle)})</label><br>`,
    )
    .join('\n    ');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(page.service)}: authorize application</title></head>
<body>
  <h1>Authorize application</h1>
  <p>An application wants ${escapeHtml(page.request)} (scopes: ${escapeHtml(page.scopes)}).</p>
  <form method="post" action="${escapeHtml(page.action)}">
    ${hidden}
    <fieldset><legend>Sign in as a sandbox user</legend>
    ${users}
    </fieldset>
    <button type="submit" name="decision" value="approve">${escapeHtml(page.approve)}</button>
    <button type="submit" name="decision" value="deny">${escapeHtml(page.deny)}</button>
  </form>
</body></html>`;
}
