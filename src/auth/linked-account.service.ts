import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { Octokit } from '@octokit/rest';
import { DataSource, Repository } from 'typeorm';
import { TokenCipher, TokenDecryptionError } from '../crypto/token-cipher';
import { entitySelect } from '../database/entity-select';
import { Metrics } from '../metrics/metrics';
import { ClaimService } from './claim.service';
import { GitHubOctokitFactory } from './github-octokit.factory';
import {
  GitHubOAuthService,
  GitHubRefusedError,
  GitHubTokens,
  GitHubUnavailableError,
} from './github-oauth.service';
import { LinkedAccount, tokenContext } from './linked-account.entity';

/** Refresh an expiring token this long before GitHub would refuse it. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/** Octokits kept for recent clickers (octokitWith). */
const OCTOKITS_KEPT = 200;

/** Who a Flowdock user acts as on GitHub: their linked account's login and an Octokit with its token. */
export interface GitHubActor {
  login: string;
  octokit: Octokit;
}

/** What other modules may know about a link (no tokens). */
interface GitHubLink {
  githubUserId: number;
  githubLogin: string;
}

interface NewLink {
  flowdockUserId: string;
  claimJti: string;
  github: { id: number; login: string };
  tokens: GitHubTokens;
}

/**
 * Linked accounts and their tokens, for their whole life: stored encrypted,
 * refreshed once when several requests need it at the same moment,
 * re-encrypted under the current key, and removed when GitHub says the token
 * is dead, when the user revokes the app, or when the user unlinks.
 */
@Injectable()
export class LinkedAccountService {
  private readonly logger = new Logger('LinkedAccounts');
  /** Octokits of recently used tokens, least recently used first. */
  private readonly octokitCache = new Map<string, Octokit>();

  constructor(
    @InjectRepository(LinkedAccount) private readonly links: Repository<LinkedAccount>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: TokenCipher,
    private readonly oauth: GitHubOAuthService,
    private readonly octokits: GitHubOctokitFactory,
    private readonly claims: ClaimService,
    private readonly metrics: Metrics,
  ) {}

  /** The GitHub account linked to a Flowdock user, or null. */
  async findLink(flowdockUserId: string): Promise<GitHubLink | null> {
    const row = await this.links.findOneBy({ flowdockUserId });
    return row ? { githubUserId: Number(row.githubUserId), githubLogin: row.githubLogin } : null;
  }

  /**
   * An Octokit acting as the Flowdock user's linked GitHub account (base URL
   * GITHUB_API_URL), or null when there is no usable link: not linked, the
   * stored token cannot be decrypted, or its refresh was refused (the link is
   * then removed). Answer null with the 401 challenge. A 401 from GitHub on a
   * call made with it removes the link. Throws ServiceUnavailableException
   * when an expired token cannot be refreshed because GitHub is unreachable.
   */
  async octokitFor(flowdockUserId: string): Promise<Octokit | null> {
    return (await this.actingAs(flowdockUserId))?.octokit ?? null;
  }

  /** octokitFor() with the login it acts as, from one lookup (the action path). */
  async actingAs(flowdockUserId: string): Promise<GitHubActor | null> {
    // Plain SQL: on every click, TypeORM's query builder cost more than the statement.
    const [row] = await this.dataSource.query<LinkedAccount[]>(
      `${entitySelect(this.dataSource, LinkedAccount)} WHERE flowdock_user_id = $1`,
      [flowdockUserId],
    );
    if (!row) return null;
    let ciphertext = row.accessToken;
    let token = this.decrypt(row, 'access');
    if (token === null) return null;
    const expiresAt = row.accessTokenExpiresAt?.getTime();
    if (expiresAt !== undefined && expiresAt - REFRESH_MARGIN_MS <= Date.now()) {
      const refreshed = await this.refresh(flowdockUserId, ciphertext);
      if (!refreshed) return null;
      ({ token, ciphertext } = refreshed);
    } else if (this.cipher.needsRotation(ciphertext)) {
      ciphertext = await this.reencrypt(row, token);
    }
    return { login: row.githubLogin, octokit: this.octokitWith(flowdockUserId, token, ciphertext) };
  }

  /**
   * The Octokit of one stored token, kept for the next click: building one
   * costs little, but its first call costs about 0.5 ms more than the next
   * ones. Keyed by the token's ciphertext, so a refreshed or re-encrypted
   * token gets a new one; a removed link is never looked up again (the row
   * is read first), and its entry ages out.
   */
  private octokitWith(flowdockUserId: string, token: string, ciphertext: string): Octokit {
    const key = `${flowdockUserId}\n${ciphertext}`;
    const kept = this.octokitCache.get(key);
    if (kept) {
      this.octokitCache.delete(key);
      this.octokitCache.set(key, kept);
      return kept;
    }
    const octokit = this.octokits.forToken(token, async () => {
      this.octokitCache.delete(key);
      const removed = await this.links.delete({ flowdockUserId, accessToken: ciphertext });
      if (removed.affected) {
        this.metrics.authorizationRevoked('token_refused');
        this.logger.warn(
          `GitHub answered 401 for the token of Flowdock user ${flowdockUserId}; link removed`,
        );
      }
    });
    this.octokitCache.set(key, octokit);
    if (this.octokitCache.size > OCTOKITS_KEPT) {
      this.octokitCache.delete(this.octokitCache.keys().next().value as string);
    }
    return octokit;
  }

  /**
   * Unlinking by its user: the link and its tokens are removed, then GitHub is
   * asked to revoke the bridge's authorization, so the tokens stop working
   * there too. `revoked` says what GitHub answered (the link is gone either way).
   */
  async unlinkAndRevoke(
    flowdockUserId: string,
  ): Promise<{ removed: boolean; revoked?: 'revoked' | 'gone' | { failed: string } }> {
    const row = await this.links.findOneBy({ flowdockUserId });
    const token = row ? this.decrypt(row, 'access') : null;
    const removed = await this.unlink(flowdockUserId, 'unlinked on the account page');
    if (!removed || token === null) return { removed };
    try {
      return { removed, revoked: await this.oauth.revokeGrant(token) };
    } catch (error) {
      if (!(error instanceof GitHubRefusedError || error instanceof GitHubUnavailableError))
        throw error;
      this.logger.warn(
        `GitHub did not revoke the authorization of Flowdock user ${flowdockUserId}: ${error.message}`,
      );
      return { removed, revoked: { failed: error.message } };
    }
  }

  /** Removes a link and its tokens; false when there was none. */
  async unlink(flowdockUserId: string, reason: string): Promise<boolean> {
    const result = await this.links.delete({ flowdockUserId });
    if (result.affected) this.logger.log(`Unlinked Flowdock user ${flowdockUserId}: ${reason}`);
    return Boolean(result.affected);
  }

  /** The `github_app_authorization` `revoked` webhook: every link to that GitHub user goes. */
  async revokeByGitHubUserId(githubUserId: number): Promise<number> {
    const result = await this.links.delete({ githubUserId: String(githubUserId) });
    const count = result.affected ?? 0;
    this.metrics.authorizationRevoked('webhook');
    this.logger.log(
      `GitHub user ${githubUserId} revoked the authorization; removed ${count} link(s)`,
    );
    return count;
  }

  /**
   * Stores (or replaces) a link and spends its claim, in one transaction.
   * 'claim-spent' (and nothing stored) when the claim was spent meanwhile.
   */
  async link(input: NewLink): Promise<'linked' | 'claim-spent'> {
    const { flowdockUserId, tokens } = input;
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.claims.spend(manager, input.claimJti))) return 'claim-spent';
      await manager.getRepository(LinkedAccount).upsert(
        {
          flowdockUserId,
          githubUserId: String(input.github.id),
          githubLogin: input.github.login,
          ...this.sealTokens(flowdockUserId, tokens),
          scopes: tokens.scopes.join(' '),
        },
        ['flowdockUserId'],
      );
      this.logger.log(
        `Linked Flowdock user ${flowdockUserId} to GitHub ${input.github.login} (${input.github.id})`,
      );
      return 'linked';
    });
  }

  /**
   * Refreshes under a row lock: concurrent callers queue on the lock, and
   * those that find the token already replaced use the new one, so GitHub sees
   * one refresh. The lock is held across the call to GitHub (bounded by its
   * timeout) so a rotated refresh token is never used twice.
   */
  private async refresh(
    flowdockUserId: string,
    seen: string,
  ): Promise<{ token: string; ciphertext: string } | null> {
    return this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(LinkedAccount);
      const row = await repo.findOne({
        where: { flowdockUserId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) return null;
      if (row.accessToken !== seen) {
        const token = this.decrypt(row, 'access');
        return token === null ? null : { token, ciphertext: row.accessToken };
      }
      const refreshToken = row.refreshToken ? this.decrypt(row, 'refresh') : null;
      if (refreshToken === null) {
        await repo.delete({ flowdockUserId });
        this.metrics.tokenRefreshed('failed');
        this.logger.warn(
          `The GitHub token of Flowdock user ${flowdockUserId} expired and cannot be refreshed; link removed`,
        );
        return null;
      }
      let tokens: GitHubTokens;
      try {
        tokens = await this.oauth.refresh(refreshToken);
      } catch (error) {
        if (error instanceof GitHubRefusedError) {
          await repo.delete({ flowdockUserId });
          this.metrics.tokenRefreshed('failed');
          this.logger.warn(
            `GitHub refused to refresh the token of Flowdock user ${flowdockUserId} (${error.reason}); link removed`,
          );
          return null;
        }
        if (error instanceof GitHubUnavailableError) {
          this.metrics.tokenRefreshed('failed');
          this.logger.warn(`${error.message}; Flowdock user ${flowdockUserId}`);
          throw new ServiceUnavailableException(
            'GitHub could not be reached to renew your GitHub authorization; try again in a minute',
          );
        }
        throw error;
      }
      const sealed = this.sealTokens(flowdockUserId, tokens);
      await repo.update({ flowdockUserId }, sealed);
      this.metrics.tokenRefreshed('ok');
      this.logger.log(`Refreshed the GitHub token of Flowdock user ${flowdockUserId}`);
      return { token: tokens.accessToken, ciphertext: sealed.accessToken };
    });
  }

  /** Re-encrypts a row's tokens under the current key (key rotation), unless it changed meanwhile. */
  private async reencrypt(row: LinkedAccount, accessToken: string): Promise<string> {
    const refreshToken = row.refreshToken ? this.decrypt(row, 'refresh') : null;
    const accessCiphertext = this.cipher.encrypt(
      accessToken,
      tokenContext(row.flowdockUserId, 'access'),
    );
    await this.links.update(
      { flowdockUserId: row.flowdockUserId, accessToken: row.accessToken },
      {
        accessToken: accessCiphertext,
        refreshToken:
          refreshToken === null
            ? row.refreshToken
            : this.cipher.encrypt(refreshToken, tokenContext(row.flowdockUserId, 'refresh')),
      },
    );
    return accessCiphertext;
  }

  private sealTokens(flowdockUserId: string, tokens: GitHubTokens) {
    return {
      accessToken: this.cipher.encrypt(tokens.accessToken, tokenContext(flowdockUserId, 'access')),
      accessTokenExpiresAt: tokens.accessTokenExpiresAt ?? null,
      refreshToken: tokens.refreshToken
        ? this.cipher.encrypt(tokens.refreshToken, tokenContext(flowdockUserId, 'refresh'))
        : null,
      refreshTokenExpiresAt: tokens.refreshTokenExpiresAt ?? null,
    };
  }

  /** The plaintext, or null (logged) when the stored value cannot be decrypted: read as "not linked". */
  private decrypt(row: LinkedAccount, column: 'access' | 'refresh'): string | null {
    const value = column === 'access' ? row.accessToken : row.refreshToken;
    try {
      return this.cipher.decrypt(value ?? '', tokenContext(row.flowdockUserId, column));
    } catch (error) {
      if (!(error instanceof TokenDecryptionError)) throw error;
      this.logger.error(
        `The stored GitHub ${column} token of Flowdock user ${row.flowdockUserId} cannot be decrypted ` +
          `(${error.message}); treating the user as not linked`,
      );
      return null;
    }
  }
}
