import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, randomBytes } from 'node:crypto';
import { LessThan, Repository } from 'typeorm';
import { safeEqual } from '../common/safe-equal';
import { AppConfig } from '../config/app.config';
import { LinkingContext, OAuthPurpose, OAuthState } from './oauth-state.entity';

/** The cookie that binds a sign-in in progress to the browser that started it. */
export const STATE_COOKIE = 'bridge_oauth_state';
/** How long a user has to get through one provider's consent page. */
const STATE_LIFETIME_MS = 10 * 60 * 1000;

export type StateProblem = 'missing-cookie' | 'mismatch' | 'used-or-expired';

export class StateError extends Error {
  constructor(readonly problem: StateProblem) {
    super(`OAuth state check failed: ${problem}`);
    this.name = 'StateError';
  }
}

interface StepData {
  purpose: OAuthPurpose;
  flowdockUserId?: string;
  claimJti?: string;
  /** Already encrypted by the caller. */
  codeVerifier?: string;
  flowId?: string;
  context?: LinkingContext;
}

/** A row of oauth_state as the DELETE … RETURNING gives it back. */
interface OAuthStateRow {
  state_hash: string;
  purpose: OAuthPurpose;
  flowdock_user_id: string | null;
  claim_jti: string | null;
  code_verifier: string | null;
  flow_id: string | null;
  context: LinkingContext | null;
  expires_at: Date;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * OAuth `state` for each redirect to a provider: a fresh random value, sent to
 * the provider and set in a signed, HttpOnly, SameSite=Lax cookie (Secure when
 * PUBLIC_URL is https). The callback must present the same value in the query
 * and in the cookie (so a state from another browser fails: login CSRF), and
 * the row keyed by its hash must still exist (deleted on first use, so a
 * replayed state fails on every replica).
 */
@Injectable()
export class OAuthStateService {
  private readonly secure: boolean;

  constructor(
    @InjectRepository(OAuthState) private readonly states: Repository<OAuthState>,
    config: ConfigService<AppConfig, true>,
  ) {
    this.secure = config.get('publicUrl', { infer: true }).startsWith('https:');
  }

  /** Records a step and sets the cookie; returns the state to send to the provider. */
  async begin(reply: FastifyReply, step: StepData): Promise<string> {
    const state = randomBytes(32).toString('base64url');
    await this.states.delete({ expiresAt: LessThan(new Date()) });
    await this.states.insert({
      stateHash: sha256(state),
      purpose: step.purpose,
      flowdockUserId: step.flowdockUserId ?? null,
      claimJti: step.claimJti ?? null,
      codeVerifier: step.codeVerifier ?? null,
      flowId: step.flowId ?? null,
      context: step.context ?? null,
      expiresAt: new Date(Date.now() + STATE_LIFETIME_MS),
    });
    void reply.setCookie(STATE_COOKIE, state, {
      signed: true,
      httpOnly: true,
      secure: this.secure,
      sameSite: 'lax',
      path: '/',
      maxAge: STATE_LIFETIME_MS / 1000,
    });
    return state;
  }

  /**
   * Checks the `state` the callback was given (its query's) against the
   * cookie and takes its step (one use), clearing the cookie. Throws StateError.
   */
  async consume(
    request: FastifyRequest,
    reply: FastifyReply,
    state: string | undefined,
    purposes: OAuthPurpose[],
  ): Promise<OAuthState> {
    const raw = request.cookies?.[STATE_COOKIE];
    const cookie = raw === undefined ? undefined : request.unsignCookie(raw);
    if (!cookie?.valid || !cookie.value) throw new StateError('missing-cookie');
    // A forged callback (someone else's state) must not end this browser's own sign-in.
    if (state === undefined || !safeEqual(state, cookie.value)) {
      throw new StateError('mismatch');
    }
    this.clear(reply);
    const deleted = await this.states
      .createQueryBuilder()
      .delete()
      .where('state_hash = :hash', { hash: sha256(state) })
      .returning('*')
      .execute();
    const row = (deleted.raw as OAuthStateRow[])[0];
    if (!row || !purposes.includes(row.purpose)) {
      throw new StateError('used-or-expired');
    }
    const step = this.states.create({
      stateHash: row.state_hash,
      purpose: row.purpose,
      flowdockUserId: row.flowdock_user_id,
      claimJti: row.claim_jti,
      codeVerifier: row.code_verifier,
      flowId: row.flow_id,
      context: row.context,
      expiresAt: new Date(row.expires_at),
    });
    if (step.expiresAt.getTime() <= Date.now()) throw new StateError('used-or-expired');
    return step;
  }

  private clear(reply: FastifyReply): void {
    void reply.clearCookie(STATE_COOKIE, {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'lax',
      path: '/',
    });
  }
}
