import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app.config';

export const DELIVERIES_COOKIE = 'bridge_deliveries';
/** Audience of delivery log sessions: never an account session, a claim or a FLOWDOCK-TOKEN. */
export const DELIVERIES_AUDIENCE = 'flowdock-github-bridge:deliveries-session';
/** Flow membership is read from Flowdock at sign-in: a short session keeps it fresh. */
const LIFETIME_SECONDS = 15 * 60;
/** Browsers drop cookies over 4 KB: the flow list is cut before that. */
const MAX_TOKEN_BYTES = 3_500;

export interface DeliveriesViewer {
  flowdockUserId: string;
  name: string;
  nick: string;
  /**
   * The flows of this bridge's sources (`flowdock_source.flow`, as stored)
   * that the user was a member of when signing in.
   */
  flows: string[];
}

/**
 * The session of the delivery log pages: a JWT (COOKIE_SECRET, its own
 * audience) in an HttpOnly, SameSite=Lax cookie for /deliveries only (Secure
 * on https), 15 minutes. It carries who signed in and which of the bridge's
 * flows they belong to — never Flowdock's access token, which is dropped once
 * GET /flows has answered.
 */
@Injectable()
export class DeliveriesSessionService {
  private readonly logger = new Logger('DeliveriesSession');
  private readonly secure: boolean;

  constructor(
    private readonly jwt: JwtService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.secure = config.get('publicUrl', { infer: true }).startsWith('https:');
  }

  async start(reply: FastifyReply, viewer: DeliveriesViewer): Promise<void> {
    const sign = (flows: string[]) =>
      this.jwt.signAsync(
        { user: viewer.flowdockUserId, name: viewer.name, nick: viewer.nick, flows },
        { algorithm: 'HS256', audience: DELIVERIES_AUDIENCE, expiresIn: LIFETIME_SECONDS },
      );
    let flows = viewer.flows;
    let token = await sign(flows);
    while (Buffer.byteLength(token) > MAX_TOKEN_BYTES && flows.length > 0) {
      flows = flows.slice(0, Math.floor(flows.length / 2));
      token = await sign(flows);
    }
    if (flows.length < viewer.flows.length) {
      this.logger.warn(
        `Flowdock user ${viewer.flowdockUserId} belongs to ${viewer.flows.length} of the bridge's flows; the session keeps ${flows.length}`,
      );
    }
    void reply.setCookie(DELIVERIES_COOKIE, token, {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'lax',
      path: '/deliveries',
      maxAge: LIFETIME_SECONDS,
    });
  }

  async read(request: FastifyRequest): Promise<DeliveriesViewer | null> {
    const token = request.cookies?.[DELIVERIES_COOKIE];
    if (!token) return null;
    try {
      const payload: Record<string, unknown> = await this.jwt.verifyAsync(token, {
        algorithms: ['HS256'],
        audience: DELIVERIES_AUDIENCE,
      });
      const { user, name, nick, flows } = payload;
      if (
        typeof user !== 'string' ||
        typeof name !== 'string' ||
        typeof nick !== 'string' ||
        !Array.isArray(flows) ||
        !flows.every((flow) => typeof flow === 'string')
      ) {
        return null;
      }
      return { flowdockUserId: user, name, nick, flows };
    } catch {
      return null;
    }
  }
}
