import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { createHash, createSecretKey, KeyObject } from 'node:crypto';
import { AppConfig } from '../config/app.config';
import { isRecord } from '../common/records';
import { safeEqual } from '../common/safe-equal';
import { FlowdockActionRequest, FlowdockAgent } from './flowdock-action.types';

/** Seconds of clock difference between Flowdock and us that we accept. */
export const CLOCK_TOLERANCE_SECONDS = 10;
/** Flowdock's tokens live about 30 s; one that lives much longer was not made by Flowdock. */
const MAX_TOKEN_LIFETIME_SECONDS = 300;

interface ActionRequestParts {
  /** The FLOWDOCK-TOKEN header, if any. */
  token: string | undefined;
  /** The exact bytes of the request body. */
  rawBody: Buffer | undefined;
  /** The request path and query, as received (e.g. /flowdock/actions/o/r/pulls/1/close). */
  path: string;
}

interface VerifiedAction extends Omit<FlowdockActionRequest, 'actingAs'> {
  /** The token's expiry (epoch seconds): how long it must be remembered as used. */
  expiresAt: number;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Checks an UpdateAction request as Flowdock signs it: a FLOWDOCK-TOKEN JWT,
 * HS256 only, signed with FLOWDOCK_CLIENT_SECRET, with `sub`, `exp` and
 * `signature`; `signature` is the lower-case hex SHA-256 of the exact body;
 * the body's target.urlTemplate is PUBLIC_URL + the request path. Replays are
 * refused by the guard through UsedActionTokenStore (it needs the database).
 *
 * Bad token: 401. Body digest or URL mismatch: 403. Unreadable body: 400.
 */
@Injectable()
export class FlowdockActionVerifier {
  /**
   * A KeyObject, made once: given a string, jsonwebtoken first tries it as a
   * public key and catches the failure, which cost most of verify() (~0.4 ms).
   */
  private readonly secret: KeyObject;
  private readonly publicUrl: string;

  constructor(
    private readonly jwt: JwtService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.secret = createSecretKey(
      Buffer.from(config.get('flowdock', { infer: true }).clientSecret, 'utf8'),
    );
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  verify(parts: ActionRequestParts, now = Date.now()): VerifiedAction {
    const claims = this.verifyToken(parts.token, now);
    const body = parts.rawBody ?? Buffer.alloc(0);
    const digest = createHash('sha256').update(body).digest('hex');
    if (!safeEqual(claims.signature, digest)) {
      throw new ForbiddenException('The request body does not match the FLOWDOCK-TOKEN signature');
    }
    const action = parseAction(body);
    if (action.urlTemplate !== this.publicUrl + parts.path) {
      throw new ForbiddenException(
        'The signed action targets another URL than this request (check PUBLIC_URL)',
      );
    }
    return { userId: claims.sub, action, expiresAt: claims.exp };
  }

  private verifyToken(
    token: string | undefined,
    now: number,
  ): { sub: string; exp: number; signature: string } {
    if (!token) throw new UnauthorizedException('The FLOWDOCK-TOKEN header is missing');
    let payload: Record<string, unknown>;
    try {
      payload = this.jwt.verify<Record<string, unknown>>(token, {
        // @nestjs/jwt types the secret as string | Buffer; jsonwebtoken accepts a KeyObject.
        secret: this.secret as unknown as Buffer,
        algorithms: ['HS256'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
    } catch (error) {
      const expired = (error as Error).name === 'TokenExpiredError';
      throw new UnauthorizedException(
        expired
          ? 'The FLOWDOCK-TOKEN has expired'
          : 'The FLOWDOCK-TOKEN is not a valid token signed by Flowdock',
      );
    }
    const { sub, exp, signature } = payload;
    if (typeof exp !== 'number') throw new UnauthorizedException('The FLOWDOCK-TOKEN has no exp');
    if (exp > now / 1000 + MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
      throw new UnauthorizedException('The FLOWDOCK-TOKEN expires too far in the future');
    }
    if ((typeof sub !== 'string' && typeof sub !== 'number') || String(sub) === '') {
      throw new UnauthorizedException('The FLOWDOCK-TOKEN has no sub (Flowdock user id)');
    }
    if (typeof signature !== 'string' || signature === '') {
      throw new UnauthorizedException('The FLOWDOCK-TOKEN has no signature of the body');
    }
    // Tokens of our own (claims) carry an audience; Flowdock's never do.
    if (payload.aud !== undefined) {
      throw new UnauthorizedException('The FLOWDOCK-TOKEN is not a valid token signed by Flowdock');
    }
    if (!HEX_SHA256.test(signature)) {
      throw new ForbiddenException('The request body does not match the FLOWDOCK-TOKEN signature');
    }
    return { sub: String(sub), exp, signature };
  }
}

function parseAction(body: Buffer): FlowdockActionRequest['action'] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequestException('The action request body is not JSON');
  }
  if (!isRecord(parsed)) {
    throw new BadRequestException('The action request body is not a JSON object');
  }
  const { name, agent, target } = parsed;
  if (!isRecord(target) || typeof target.urlTemplate !== 'string') {
    throw new BadRequestException('The action request body has no target.urlTemplate');
  }
  if (typeof name !== 'string') {
    throw new BadRequestException('The action request body has no name');
  }
  return {
    name,
    urlTemplate: target.urlTemplate,
    ...(isRecord(agent) ? { agent: pickAgent(agent) } : {}),
  };
}

/** The agent's fields as the body carries them: each is checked before it is kept. */
function pickAgent(agent: Record<string, unknown>): FlowdockAgent {
  const out: FlowdockAgent = {};
  if (typeof agent['@type'] === 'string') out['@type'] = agent['@type'];
  if (typeof agent.name === 'string') out.name = agent.name;
  if (typeof agent.image === 'string') out.image = agent.image;
  return out;
}
