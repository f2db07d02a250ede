import { createHash, createHmac } from 'node:crypto';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An HS256 JWT as Flowdock makes its FLOWDOCK-TOKEN (Flowdock's thread actions API). The
 * header is overridable so tests can craft the variants a forger would try.
 */
export function signFlowdockToken(
  claims: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const unsigned = `${b64url(header)}.${b64url(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

export interface SignedAction {
  headers: Record<string, string>;
  /** The exact body bytes the token signs. */
  payload: string;
}

/**
 * The request Flowdock sends when a user clicks an UpdateAction: the action
 * (with the clicking user as agent) as the body, and a FLOWDOCK-TOKEN with
 * `sub` = the user id, `exp` = 30 s, `signature` = hex SHA-256 of the body.
 */
export function signActionRequest(
  action: { name: string; urlTemplate: string; agent?: { name: string; image?: string } },
  options: { clientSecret: string; userId: string | number; ttlSeconds?: number; now?: number },
): SignedAction {
  const payload = JSON.stringify({
    '@type': 'UpdateAction',
    name: action.name,
    agent: { '@type': 'Person', ...(action.agent ?? { name: 'Sandbox User' }) },
    target: { '@type': 'EntryPoint', urlTemplate: action.urlTemplate, httpMethod: 'POST' },
  });
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const token = signFlowdockToken(
    {
      sub: String(options.userId),
      exp: now + (options.ttlSeconds ?? 30),
      signature: createHash('sha256').update(payload).digest('hex'),
    },
    options.clientSecret,
  );
  return { headers: { 'content-type': 'application/json', 'flowdock-token': token }, payload };
}
