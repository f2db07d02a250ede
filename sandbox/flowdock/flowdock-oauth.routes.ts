import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  authorizeErrorPage,
  consentPage,
  fields,
  Fields,
  withParams as redirectWith,
} from '../oauth-consent';
import { FlowdockState } from './flowdock-state';
import { chosenUser } from './sandbox-user';

/** Checks the parameters the authorize page and its form share; an error text or undefined. */
function authorizeProblem(state: FlowdockState, f: Fields): string | undefined {
  if (f.client_id !== state.clientId) return 'Unknown client_id';
  if (f.response_type !== 'code') return 'response_type must be code';
  if (!f.redirect_uri) return 'redirect_uri is required';
  try {
    const url = new URL(f.redirect_uri);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return 'redirect_uri must be http(s)';
  } catch {
    return 'redirect_uri is not a URL';
  }
  return undefined;
}

function errorPage(reply: FastifyReply, message: string) {
  return authorizeErrorPage(reply, 'Flowdock', message);
}

function authorizePage(state: FlowdockState, f: Fields, selected: number | undefined): string {
  return consentPage({
    service: 'Flowdock (sandbox)',
    request: 'to access your Flowdock account',
    scopes: f.scope || 'flow private',
    action: '/oauth/authorize',
    forwarded: ['client_id', 'redirect_uri', 'response_type', 'state', 'scope'],
    query: f,
    users: [...state.users.values()].map((u) => ({ id: u.id, name: u.name, handle: u.nick })),
    selected,
    approve: 'Approve',
    deny: 'Deny',
  });
}

function tokenAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  body: Fields | object,
) {
  const accept = String(request.headers.accept ?? '');
  const sentJson = String(request.headers['content-type'] ?? '').includes('json');
  reply.code(status).header('cache-control', 'no-store');
  if (accept.includes('application/json') || sentJson) return reply.send(body);
  const form = new URLSearchParams(fields(body) as Record<string, string>);
  return reply.type('application/x-www-form-urlencoded').send(form.toString());
}

/**
 * Flowdock OAuth 2.0 as Flowdock's authentication API documents it (authorization code
 * grant, refresh grant) and GET /user.
 */
export function flowdockOAuthRoutes(app: FastifyInstance, state: FlowdockState): void {
  app.get('/oauth/authorize', async (request, reply) => {
    const f = fields(request.query);
    const problem = authorizeProblem(state, f);
    if (problem) return errorPage(reply, problem);
    // The user chosen in the team inbox (its cookie), not ?as=: the query belongs to the app.
    const selected = chosenUser(state, { query: {}, headers: request.headers });
    return reply.type('text/html; charset=utf-8').send(authorizePage(state, f, selected));
  });

  app.post('/oauth/authorize', async (request, reply) => {
    const f = fields(request.body);
    const problem = authorizeProblem(state, f);
    if (problem) return errorPage(reply, problem);
    const redirectUri = f.redirect_uri as string;
    if (f.decision === 'deny') {
      return reply.redirect(
        redirectWith(redirectUri, { error: 'access_denied', state: f.state }),
        302,
      );
    }
    if (f.decision !== 'approve') return errorPage(reply, 'decision must be approve or deny');
    const user = state.users.get(Number(f.user_id));
    if (!user || !/^\d+$/.test(f.user_id ?? '')) return errorPage(reply, 'Choose a user');
    const code = state.issueCode(user.id, state.clientId, redirectUri, f.scope ?? '');
    return reply.redirect(redirectWith(redirectUri, { code, state: f.state }), 302);
  });

  app.post('/oauth/token', async (request, reply) => {
    const f = fields(request.body);
    const fail = (status: number, error: string, description: string) =>
      tokenAnswer(request, reply, status, { error, error_description: description });
    if (f.client_id !== state.clientId || f.client_secret !== state.clientSecret) {
      return fail(401, 'invalid_client', 'Client authentication failed');
    }
    if (f.grant_type === 'authorization_code') {
      if (!f.code || !f.redirect_uri)
        return fail(400, 'invalid_request', 'code and redirect_uri are required');
      const grant = state.consumeCode(f.code);
      if (!grant || grant.clientId !== f.client_id) {
        return fail(400, 'invalid_grant', 'The authorization code is invalid, expired or used');
      }
      if (grant.redirectUri !== f.redirect_uri) {
        return fail(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
      }
      return tokenAnswer(
        request,
        reply,
        200,
        state.issueTokens(grant.userId, grant.clientId, grant.scope),
      );
    }
    if (f.grant_type === 'refresh_token') {
      const grant = f.refresh_token ? state.refreshTokens.get(f.refresh_token) : undefined;
      if (!grant || grant.clientId !== f.client_id || !f.refresh_token) {
        return fail(400, 'invalid_grant', 'The refresh token is invalid or revoked');
      }
      state.refreshTokens.delete(f.refresh_token);
      return tokenAnswer(
        request,
        reply,
        200,
        state.issueTokens(grant.userId, grant.clientId, grant.scope),
      );
    }
    return fail(
      400,
      'unsupported_grant_type',
      'grant_type must be authorization_code or refresh_token',
    );
  });

  app.get('/user', async (request, reply) => {
    const user = state.authenticate(
      request.headers.authorization,
      fields(request.query).access_token,
    );
    if (!user) return reply.code(401).send({ message: 'Unauthorized' });
    return reply.send({
      id: user.id,
      nick: user.nick,
      name: user.name,
      email: user.email,
      avatar: `https://avatars.example.invalid/${user.nick}`,
    });
  });
}
