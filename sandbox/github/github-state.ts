import { randomBytes } from 'node:crypto';

export interface SimUser {
  id: number;
  login: string;
  name: string;
}

export interface SimToken {
  userId: number;
  /** The OAuth app the token was issued to. */
  clientId: string;
  scopes: string[];
  /** Epoch ms; undefined for non-expiring tokens. */
  expiresAt?: number;
  revoked?: boolean;
}

/**
 * The GitHub simulator's in-memory world: users and the tokens issued to them.
 * Route plugins (OAuth, REST, webhooks) share one instance.
 */
export class GitHubState {
  readonly users = new Map<number, SimUser>();
  readonly tokens = new Map<string, SimToken>();

  constructor(users: SimUser[] = DEFAULT_USERS) {
    for (const user of users) this.users.set(user.id, user);
  }

  userByLogin(login: string): SimUser | undefined {
    return [...this.users.values()].find((u) => u.login === login);
  }

  /** Issues a token for a user, as OAuth would. */
  issueToken(userId: number, clientId: string, scopes: string[], ttlMs?: number): string {
    const token = `ghu_sim_${randomBytes(18).toString('hex')}`;
    this.tokens.set(token, {
      userId,
      clientId,
      scopes,
      expiresAt: ttlMs === undefined ? undefined : Date.now() + ttlMs,
    });
    return token;
  }

  /**
   * The user an `Authorization: token|Bearer <t>` header authenticates, or
   * undefined (missing, unknown, revoked or expired token: GitHub answers 401).
   */
  authenticate(authorization: string | undefined): { user: SimUser; token: SimToken } | undefined {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? '');
    const token = match ? this.tokens.get(match[1]) : undefined;
    if (!token || token.revoked) return undefined;
    if (token.expiresAt !== undefined && token.expiresAt <= Date.now()) return undefined;
    const user = this.users.get(token.userId);
    return user ? { user, token } : undefined;
  }

  /** Revokes every token of a user (as when they revoke the app's authorization). */
  revokeUser(userId: number): void {
    for (const token of this.tokens.values()) if (token.userId === userId) token.revoked = true;
  }
}

const DEFAULT_USERS: SimUser[] = [
  { id: 5001, login: 'octocat', name: 'The Octocat' },
  { id: 5002, login: 'hubot', name: 'Hubot' },
  { id: 5003, login: 'monalisa', name: 'Mona Lisa' },
];
