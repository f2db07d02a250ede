import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app.config';
import { SessionCookie } from '../auth/session-cookie';

export const DELIVERIES_COOKIE = 'bridge_deliveries';
const SESSION_COOKIE = {
  name: DELIVERIES_COOKIE,
  /** Audience of delivery log sessions: never an account session, a claim or a FLOWDOCK-TOKEN. */
  audience: 'flowdock-github-bridge:deliveries-session',
  path: '/deliveries',
  /** Flow membership is read from Flowdock at sign-in: a short session keeps it fresh. */
  lifetimeSeconds: 15 * 60,
};
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
  private readonly cookie: SessionCookie;

  constructor(jwt: JwtService, config: ConfigService<AppConfig, true>) {
    this.cookie = new SessionCookie(jwt, config, SESSION_COOKIE);
  }

  async start(reply: FastifyReply, viewer: DeliveriesViewer): Promise<void> {
    const sign = (flows: string[]) =>
      this.cookie.sign({
        user: viewer.flowdockUserId,
        name: viewer.name,
        nick: viewer.nick,
        flows,
      });
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
    this.cookie.set(reply, token);
  }

  async read(request: FastifyRequest): Promise<DeliveriesViewer | null> {
    const { user, name, nick, flows } = (await this.cookie.read(request)) ?? {};
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
  }
}
