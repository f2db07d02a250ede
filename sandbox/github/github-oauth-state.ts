import { createHash, randomBytes } from 'node:crypto';
import { safeEqual } from '../../src/common/safe-equal';

export interface SimOAuthApp {
  clientId: string;
  clientSecret: string;
  /**
   * Lifetime of issued access tokens in ms. Unset: tokens never expire (an
   * OAuth App). Set: expiring tokens with a refresh token (a GitHub App with
   * "expire user authorization tokens" on).
   */
  tokenTtlMs?: number;
  /** Lifetime of refresh tokens in ms (GitHub: six months). */
  refreshTokenTtlMs?: number;
}

export interface SimCode {
  userId: number;
  redirectUri: string | undefined;
  scopes: string[];
  /** PKCE S256 challenge given to /login/oauth/authorize, if any. */
  codeChallenge?: string;
  expiresAt: number;
}

export interface SimRefreshToken {
  userId: number;
  scopes: string[];
  /** The access token issued with it; revoking that user's tokens kills this too. */
  accessToken: string;
  expiresAt: number;
}

/**
 * The OAuth side of the GitHub simulator: the one registered app, codes,
 * refresh tokens, and counters tests use to prove how often the bridge asked
 * for tokens. Access tokens themselves live in GitHubState (shared with the
 * REST routes).
 */
export class GitHubOAuthState {
  readonly codes = new Map<string, SimCode>();
  readonly refreshTokens = new Map<string, SimRefreshToken>();
  /** POST /login/oauth/access_token requests, by grant type, including refused ones. */
  readonly tokenRequests = { authorization_code: 0, refresh_token: 0 };
  /** DELETE /applications/:client_id/grant calls with the right client credentials. */
  grantDeletions = 0;
  /** Answer grant deletions with this status instead (to simulate GitHub failing), when set. */
  grantDeletionFailure?: number;
  /** Every code and refresh token ever issued, so tests can look for them where they must not be. */
  readonly issued: string[] = [];
  /** How long a code lives (GitHub: 10 minutes). */
  codeTtlMs = 10 * 60 * 1000;

  constructor(readonly app: SimOAuthApp) {}

  issueCode(code: Omit<SimCode, 'expiresAt'>): string {
    const value = randomBytes(10).toString('hex');
    this.codes.set(value, { ...code, expiresAt: Date.now() + this.codeTtlMs });
    this.issued.push(value);
    return value;
  }

  /** A code is good once: taking it removes it, whether or not the exchange succeeds. */
  takeCode(code: string): SimCode | undefined {
    const found = this.codes.get(code);
    this.codes.delete(code);
    return found && found.expiresAt > Date.now() ? found : undefined;
  }

  issueRefreshToken(userId: number, scopes: string[], accessToken: string): string {
    const value = `ghr_sim_${randomBytes(18).toString('hex')}`;
    this.issued.push(value);
    this.refreshTokens.set(value, {
      userId,
      scopes,
      accessToken,
      expiresAt: Date.now() + (this.app.refreshTokenTtlMs ?? 180 * 24 * 3600 * 1000),
    });
    return value;
  }

  clientMatches(clientId: unknown, clientSecret: unknown): boolean {
    if (clientId !== this.app.clientId || typeof clientSecret !== 'string') return false;
    return safeEqual(clientSecret, this.app.clientSecret);
  }
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
