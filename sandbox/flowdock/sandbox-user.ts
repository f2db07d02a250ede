import { FlowdockState } from './flowdock-state';

/**
 * The cookie in which the team inbox keeps its "You are" choice (a sandbox
 * user id). Cookies ignore ports, so the name says whose it is: the bridge and
 * the GitHub simulator on the same host receive it too.
 */
export const SANDBOX_USER_COOKIE = 'flowdock-sandbox-user';

/** The sandbox user `?as=` names, else the one of the inbox's cookie, when either is a user. */
export function chosenUser(
  state: FlowdockState,
  request: { query: unknown; headers: { cookie?: string } },
): number | undefined {
  const query = request.query as Record<string, unknown> | null | undefined;
  const candidates = [query?.as, cookieValue(request.headers.cookie, SANDBOX_USER_COOKIE)];
  for (const candidate of candidates) {
    if (typeof candidate !== 'string' || !/^\d{1,15}$/.test(candidate)) continue;
    const id = Number(candidate);
    if (state.users.has(id)) return id;
  }
  return undefined;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}
