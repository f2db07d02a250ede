import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorizeErrorPage, consentPage, fields, Fields, withParams } from '../oauth-consent';
import { GitHubOAuthState, pkceChallenge } from './github-oauth-state';
import { GitHubRoutes } from './github-simulator';
import { GitHubState } from './github-state';

function authorizeProblem(oauth: GitHubOAuthState, f: Fields): string | undefined {
  if (f.client_id !== oauth.app.clientId) return 'The client_id is not a registered application';
  if (!f.redirect_uri) return 'redirect_uri is required';
  try {
    if (!/^https?:$/.test(new URL(f.redirect_uri).protocol)) return 'redirect_uri must be http(s)';
  } catch {
    return 'redirect_uri is not a URL';
  }
  if (f.code_challenge !== undefined && f.code_challenge_method !== 'S256') {
    return 'code_challenge_method must be S256';
  }
  return undefined;
}

function errorPage(reply: FastifyReply, message: string) {
  return authorizeErrorPage(reply, 'GitHub (sandbox)', message);
}

function authorizePage(state: GitHubState, f: Fields): string {
  return consentPage({
    service: 'GitHub (sandbox)',
    request: 'access to your GitHub account',
    scopes: f.scope || '(none)',
    action: '/login/oauth/authorize',
    forwarded: [
      'client_id',
      'redirect_uri',
      'scope',
      'state',
      'code_challenge',
      'code_challenge_method',
    ],
    query: f,
    users: [...state.users.values()].map((u) => ({ id: u.id, name: u.name, handle: u.login })),
    approve: 'Authorize',
    deny: 'Cancel',
  });
}

/** GitHub answers token errors with 200 and an error body (JSON or urlencoded, per Accept). */
function tokenAnswer(request: FastifyRequest, reply: FastifyReply, body: Record<string, unknown>) {
  void reply.header('cache-control', 'no-store');
  if (String(request.headers.accept ?? '').includes('application/json')) return reply.send(body);
  const form = new URLSearchParams(fields(body) as Record<string, string>);
  return reply.type('application/x-www-form-urlencoded').send(form.toString());
}

const oauthError = (error: string, description: string) => ({
  error,
  error_description: description,
  error_uri: `https://docs.github.com/apps/troubleshooting#${error}`,
});

/**
 * GitHub's OAuth web flow and GET /user, as GitHub serves them: the authorize
 * page (pick a sandbox user, Authorize or Cancel), the code exchange with
 * redirect_uri and PKCE (S256) checks, refresh-token rotation for expiring
 * tokens, and token errors as 200 + `{error, error_description, error_uri}`.
 */
export function githubOAuthRoutes(oauth: GitHubOAuthState): GitHubRoutes {
  return (app: FastifyInstance, state: GitHubState) => {
    app.get('/login/oauth/authorize', async (request, reply) => {
      const f = fields(request.query);
      const problem = authorizeProblem(oauth, f);
      if (problem) return errorPage(reply, problem);
      return reply.type('text/html; charset=utf-8').send(authorizePage(state, f));
    });

    app.post('/login/oauth/authorize', async (request, reply) => {
      const f = fields(request.body);
      const problem = authorizeProblem(oauth, f);
      if (problem) return errorPage(reply, problem);
      const redirectUri = f.redirect_uri as string;
      if (f.decision === 'deny') {
        const denied = {
          error: 'access_denied',
          error_description: 'The user has denied your application access.',
          state: f.state,
        };
        return reply.redirect(withParams(redirectUri, denied), 302);
      }
      if (f.decision !== 'approve') return errorPage(reply, 'decision must be approve or deny');
      const user = /^\d+$/.test(f.user_id ?? '') ? state.users.get(Number(f.user_id)) : undefined;
      if (!user) return errorPage(reply, 'Choose a user');
      const code = oauth.issueCode({
        userId: user.id,
        redirectUri,
        scopes: (f.scope ?? '').split(/[\s,]+/).filter(Boolean),
        codeChallenge: f.code_challenge,
      });
      return reply.redirect(withParams(redirectUri, { code, state: f.state }), 302);
    });

    app.post('/login/oauth/access_token', async (request, reply) => {
      const f = fields(request.body);
      const answer = (body: Record<string, unknown>) => tokenAnswer(request, reply, body);
      if (f.grant_type === 'refresh_token') oauth.tokenRequests.refresh_token++;
      else oauth.tokenRequests.authorization_code++;
      if (!oauth.clientMatches(f.client_id, f.client_secret)) {
        return answer(
          oauthError(
            'incorrect_client_credentials',
            'The client_id and/or client_secret passed are incorrect.',
          ),
        );
      }
      const issue = (userId: number, scopes: string[]) => {
        const ttl = oauth.app.tokenTtlMs;
        const accessToken = state.issueToken(userId, oauth.app.clientId, scopes, ttl);
        const body: Record<string, unknown> = {
          access_token: accessToken,
          token_type: 'bearer',
          scope: scopes.join(','),
        };
        if (ttl !== undefined) {
          const refresh = oauth.issueRefreshToken(userId, scopes, accessToken);
          body.expires_in = Math.floor(ttl / 1000);
          body.refresh_token = refresh;
          body.refresh_token_expires_in = Math.floor(
            (oauth.refreshTokens.get(refresh)!.expiresAt - Date.now()) / 1000,
          );
        }
        return answer(body);
      };

      if (f.grant_type === 'refresh_token') {
        const grant = f.refresh_token ? oauth.refreshTokens.get(f.refresh_token) : undefined;
        const revoked = grant ? state.tokens.get(grant.accessToken)?.revoked : true;
        if (!grant || revoked || grant.expiresAt <= Date.now()) {
          return answer(
            oauthError('bad_refresh_token', 'The refresh token passed is incorrect or expired.'),
          );
        }
        oauth.refreshTokens.delete(f.refresh_token!);
        return issue(grant.userId, grant.scopes);
      }

      const grant = f.code ? oauth.takeCode(f.code) : undefined;
      if (!grant) {
        return answer(
          oauthError('bad_verification_code', 'The code passed is incorrect or expired.'),
        );
      }
      if (f.redirect_uri !== undefined && f.redirect_uri !== grant.redirectUri) {
        return answer(
          oauthError(
            'redirect_uri_mismatch',
            'The redirect_uri MUST match the registered callback URL for this application.',
          ),
        );
      }
      if (grant.codeChallenge !== undefined) {
        if (!f.code_verifier || pkceChallenge(f.code_verifier) !== grant.codeChallenge) {
          return answer(
            oauthError('invalid_grant', 'The code_verifier does not match the code_challenge.'),
          );
        }
      }
      return issue(grant.userId, grant.scopes);
    });

    // "Delete an app authorization": the app (basic auth) revokes a user's grant, every token of it.
    app.delete('/applications/:clientId/grant', async (request, reply) => {
      const { clientId } = request.params as { clientId: string };
      const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const [id, secret] = basic ? Buffer.from(basic, 'base64').toString().split(':') : [];
      if (id !== clientId || !oauth.clientMatches(id, secret)) {
        return reply.code(401).send({ message: 'Bad credentials', status: '401' });
      }
      oauth.grantDeletions++;
      if (oauth.grantDeletionFailure) {
        return reply.code(oauth.grantDeletionFailure).send({ message: 'Server Error' });
      }
      const accessToken = fields(request.body).access_token;
      const granted = accessToken ? state.tokens.get(accessToken) : undefined;
      if (!granted || granted.revoked || granted.clientId !== clientId) {
        return reply.code(404).send({ message: 'Not Found', status: '404' });
      }
      for (const token of state.tokens.values()) {
        if (token.userId === granted.userId && token.clientId === clientId) token.revoked = true;
      }
      return reply.code(204).send();
    });

    app.get('/user', async (request, reply) => {
      const auth = state.authenticate(request.headers.authorization);
      if (!auth) {
        return reply.code(401).send({
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
      }
      const { user, token } = auth;
      void reply.header('x-oauth-scopes', token.scopes.join(', '));
      return reply.send({
        login: user.login,
        id: user.id,
        type: 'User',
        name: user.name,
        html_url: `https://github.example.invalid/${user.login}`,
      });
    });
  };
}
