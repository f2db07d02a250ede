import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { EntityManager, Repository } from 'typeorm';
import { isRecord } from '../common/records';
import type { ClaimContext, ClaimedAction } from './claim-context';
import { SpentClaim } from './spent-claim.entity';
import { UUID } from '../common/ids';

/**
 * The audience of claims. No other token of the bridge carries it (OAuth
 * states are random values, account sessions have their own audience, and
 * FLOWDOCK-TOKENs are signed with another secret and have none), so a claim
 * is accepted nowhere else and nothing else is accepted as a claim.
 */
export const CLAIM_AUDIENCE = 'flowdock-github-bridge:claim';
export const CLAIM_LIFETIME_SECONDS = 15 * 60;

const FLOWDOCK_USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const ACTION = /^[a-z-]{1,32}$/;
/** Longest display name carried (Flowdock's are far shorter). */
const MAX_NAME = 100;

/**
 * A verified claim: "whoever proves to be this Flowdock user may link a
 * GitHub account" (and then have `then` done as that account).
 */
interface Claim extends ClaimContext {
  flowdockUserId: string;
  jti: string;
  expiresAt: Date;
}

/** A claimed action as the claim carries it, or undefined when it is not one. */
function claimedAction(value: unknown): ClaimedAction | undefined {
  if (!isRecord(value)) return undefined;
  const { owner, repo, kind, number, action } = value;
  if (
    typeof owner !== 'string' ||
    !NAME.test(owner) ||
    typeof repo !== 'string' ||
    !NAME.test(repo) ||
    (kind !== 'pulls' && kind !== 'issues') ||
    !Number.isSafeInteger(number) ||
    (number as number) <= 0 ||
    typeof action !== 'string' ||
    !ACTION.test(action)
  ) {
    return undefined;
  }
  return { owner, repo, kind, number: number as number, action };
}

type ClaimProblem = 'missing' | 'invalid' | 'expired' | 'spent';

export class ClaimError extends Error {
  constructor(readonly problem: ClaimProblem) {
    super(`The claim is ${problem}`);
    this.name = 'ClaimError';
  }
}

/**
 * Issues and verifies the one-time claims carried by the 401 challenge URL
 * (JWT, HS256 with COOKIE_SECRET, `user`, `jti`, `exp` 15 minutes, its own
 * audience). A claim is spent when the link it started is stored.
 */
@Injectable()
export class ClaimService {
  constructor(
    private readonly jwt: JwtService,
    @InjectRepository(SpentClaim) private readonly spent: Repository<SpentClaim>,
  ) {}

  /** A new claim for a Flowdock user (what the Flowdock challenge carries). */
  async issueClaim(flowdockUserId: string, context: ClaimContext = {}): Promise<string> {
    if (!FLOWDOCK_USER_ID.test(flowdockUserId)) {
      throw new Error('A claim needs a Flowdock user id of letters, digits, "-" or "_"');
    }
    if (context.then && !claimedAction(context.then)) {
      throw new Error('A claimed action needs owner, repo, kind, number and action');
    }
    const name = context.name?.trim().slice(0, MAX_NAME);
    return this.jwt.signAsync(
      {
        user: flowdockUserId,
        ...(name ? { name } : {}),
        ...(context.then ? { then: context.then } : {}),
      },
      {
        algorithm: 'HS256',
        audience: CLAIM_AUDIENCE,
        jwtid: randomUUID(),
        expiresIn: CLAIM_LIFETIME_SECONDS,
      },
    );
  }

  /** The claim, or ClaimError: missing, invalid (tampered, wrong type), expired or spent. */
  async verify(token: unknown): Promise<Claim> {
    if (typeof token !== 'string' || token === '') throw new ClaimError('missing');
    let payload: Record<string, unknown>;
    try {
      payload = await this.jwt.verifyAsync(token, {
        algorithms: ['HS256'],
        audience: CLAIM_AUDIENCE,
      });
    } catch (error) {
      throw new ClaimError((error as Error).name === 'TokenExpiredError' ? 'expired' : 'invalid');
    }
    const { user, jti, exp, name, then } = payload;
    if (
      typeof user !== 'string' ||
      !FLOWDOCK_USER_ID.test(user) ||
      typeof jti !== 'string' ||
      !UUID.test(jti) ||
      typeof exp !== 'number' ||
      (name !== undefined && (typeof name !== 'string' || name.length > MAX_NAME)) ||
      (then !== undefined && !claimedAction(then))
    ) {
      throw new ClaimError('invalid');
    }
    if (await this.isSpent(jti)) throw new ClaimError('spent');
    return {
      flowdockUserId: user,
      jti,
      expiresAt: new Date(exp * 1000),
      name,
      then: claimedAction(then),
    };
  }

  async isSpent(jti: string): Promise<boolean> {
    return this.spent.existsBy({ jti });
  }

  /**
   * Marks a claim spent inside the caller's transaction; false when it already
   * was (a concurrent or replayed completion), so the caller rolls back.
   */
  async spend(manager: EntityManager, jti: string): Promise<boolean> {
    // Spent claims past their expiry would be refused as expired anyway.
    await manager.query(`DELETE FROM "spent_claim" WHERE "expires_at" < now()`);
    const inserted: unknown[] = await manager.query(
      `INSERT INTO "spent_claim" ("jti", "expires_at")
       VALUES ($1, now() + make_interval(secs => $2))
       ON CONFLICT ("jti") DO NOTHING RETURNING "jti"`,
      [jti, CLAIM_LIFETIME_SECONDS],
    );
    return inserted.length === 1;
  }
}
