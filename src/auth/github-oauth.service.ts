import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { deleteAuthorization, exchangeWebFlowCode, refreshToken } from '@octokit/oauth-methods';
import { createHash } from 'node:crypto';
import { AppConfig } from '../config/app.config';
import { GitHubOctokitFactory } from './github-octokit.factory';

/**
 * `repo`: assigning, unassigning, closing and reopening issues and pull
 * requests in private repositories needs it (`public_repo` covers public ones
 * only, and GitHub has no narrower OAuth scope for issue writes). GET /user
 * needs no scope. A GitHub App ignores scopes and uses its permissions
 * (Issues: write, Pull requests: write).
 */
const GITHUB_SCOPES = ['repo'];

export interface GitHubTokens {
  accessToken: string;
  /** Only for expiring tokens (GitHub App user tokens). */
  refreshToken?: string;
  accessTokenExpiresAt?: Date;
  refreshTokenExpiresAt?: Date;
  scopes: string[];
}

/** GitHub refused (a bad, used or foreign code; a revoked refresh token): retrying will not help. */
export class GitHubRefusedError extends Error {
  constructor(
    readonly reason: string,
    operation: string,
  ) {
    super(`GitHub refused ${operation}: ${reason}`);
    this.name = 'GitHubRefusedError';
  }
}

/** GitHub could not be reached, timed out or failed (5xx): try again later. */
export class GitHubUnavailableError extends Error {
  constructor(operation: string, status?: number) {
    super(`GitHub is unavailable for ${operation}${status ? ` (HTTP ${status})` : ''}`);
    this.name = 'GitHubUnavailableError';
  }
}

/** Octokit's RequestError -> ours. Messages name the OAuth error code, never a token or code. */
export function classifyGitHubError(error: unknown, operation: string): Error {
  const { status, response } = error as {
    status?: number;
    response?: { data?: { error?: unknown } };
  };
  if (typeof status !== 'number' || !response || status >= 500) {
    return new GitHubUnavailableError(operation, response ? status : undefined);
  }
  const code = typeof response.data?.error === 'string' ? response.data.error : `HTTP ${status}`;
  return new GitHubRefusedError(code, operation);
}

/** The GitHub OAuth web flow (with PKCE) through @octokit/oauth-methods. */
@Injectable()
export class GitHubOAuthService {
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly webUrl: string;
  readonly redirectUri: string;

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly octokits: GitHubOctokitFactory,
  ) {
    const github = config.get('github', { infer: true });
    this.clientId = github.clientId;
    this.clientSecret = github.clientSecret;
    this.webUrl = github.url;
    this.redirectUri = `${config.get('publicUrl', { infer: true })}/auth/github/callback`;
  }

  authorizeUrl(state: string, codeVerifier: string): string {
    const url = new URL(`${this.webUrl}/login/oauth/authorize`);
    url.searchParams.set('client_id', this.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('scope', GITHUB_SCOPES.join(' '));
    url.searchParams.set('state', state);
    url.searchParams.set('allow_signup', 'false');
    url.searchParams.set(
      'code_challenge',
      createHash('sha256').update(codeVerifier).digest('base64url'),
    );
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  async exchangeCode(code: string, codeVerifier: string): Promise<GitHubTokens> {
    const operation = 'the sign-in (code exchange)';
    try {
      // "github-app" handling reads refresh tokens when GitHub sends them and
      // is the same as "oauth-app" otherwise; the scopes we read ourselves.
      const response = await exchangeWebFlowCode({
        clientType: 'github-app',
        clientId: this.clientId,
        clientSecret: this.clientSecret,
        code,
        redirectUrl: this.redirectUri,
        // oauth-methods has no PKCE option; extra parameters go into the body.
        request: this.octokits.oauthRequest.defaults({ code_verifier: codeVerifier }),
      });
      const auth = response.authentication as {
        token: string;
        refreshToken?: string;
        expiresAt?: string;
        refreshTokenExpiresAt?: string;
      };
      const scope = (response.data as { scope?: string }).scope ?? '';
      return toTokens(auth, scope);
    } catch (error) {
      throw classifyGitHubError(error, operation);
    }
  }

  async refresh(token: string): Promise<GitHubTokens> {
    try {
      const response = await refreshToken({
        clientType: 'github-app',
        clientId: this.clientId,
        clientSecret: this.clientSecret,
        refreshToken: token,
        request: this.octokits.oauthRequest,
      });
      const scope = (response.data as { scope?: string }).scope ?? '';
      return toTokens(response.authentication, scope);
    } catch (error) {
      throw classifyGitHubError(error, 'the token refresh');
    }
  }

  /**
   * Revokes the bridge's authorization by the user the token belongs to (every
   * token of it), as unlinking should: `gone` when GitHub no longer knew it.
   */
  async revokeGrant(token: string): Promise<'revoked' | 'gone'> {
    try {
      await deleteAuthorization({
        clientType: 'oauth-app',
        clientId: this.clientId,
        clientSecret: this.clientSecret,
        token,
        request: this.octokits.apiRequest,
      });
      return 'revoked';
    } catch (error) {
      if ((error as { status?: number }).status === 404) return 'gone';
      throw classifyGitHubError(error, 'revoking the authorization');
    }
  }

  /** The GitHub user a token belongs to. */
  async getUser(accessToken: string): Promise<{ id: number; login: string }> {
    try {
      const { data } = await this.octokits.forToken(accessToken).rest.users.getAuthenticated();
      return { id: data.id, login: data.login };
    } catch (error) {
      throw classifyGitHubError(error, 'reading your GitHub user');
    }
  }
}

function toTokens(
  auth: {
    token: string;
    refreshToken?: string;
    expiresAt?: string;
    refreshTokenExpiresAt?: string;
  },
  scope: string,
): GitHubTokens {
  return {
    accessToken: auth.token,
    ...(auth.refreshToken ? { refreshToken: auth.refreshToken } : {}),
    ...(auth.expiresAt ? { accessTokenExpiresAt: new Date(auth.expiresAt) } : {}),
    ...(auth.refreshTokenExpiresAt
      ? { refreshTokenExpiresAt: new Date(auth.refreshTokenExpiresAt) }
      : {}),
    scopes: scope.split(/[\s,]+/).filter(Boolean),
  };
}
