import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { safeEqual } from '../common/safe-equal';
import { AppConfig } from '../config/app.config';
import { SessionCookie } from './session-cookie';

const SESSION_COOKIE = {
  name: 'bridge_account',
  /** Audience of account sessions: never a claim, never a FLOWDOCK-TOKEN. */
  audience: 'flowdock-github-bridge:account-session',
  path: '/account',
  lifetimeSeconds: 15 * 60,
};

interface AccountSession {
  flowdockUserId: string;
  /** Must come back in the unlink form: a cross-site page cannot read it. */
  csrf: string;
}

/**
 * The short session of the account page: a JWT (COOKIE_SECRET, its own
 * audience) in an HttpOnly, SameSite=Lax cookie, carrying the Flowdock user
 * who signed in and the CSRF token of the unlink form.
 */
@Injectable()
export class AccountSessionService {
  private readonly cookie: SessionCookie;

  constructor(jwt: JwtService, config: ConfigService<AppConfig, true>) {
    this.cookie = new SessionCookie(jwt, config, SESSION_COOKIE);
  }

  async start(reply: FastifyReply, flowdockUserId: string): Promise<void> {
    const csrf = randomBytes(24).toString('base64url');
    this.cookie.set(reply, await this.cookie.sign({ user: flowdockUserId, csrf }));
  }

  async read(request: FastifyRequest): Promise<AccountSession | null> {
    const payload = await this.cookie.read(request);
    const { user, csrf } = payload ?? {};
    if (typeof user !== 'string' || typeof csrf !== 'string') return null;
    return { flowdockUserId: user, csrf };
  }

  csrfMatches(session: AccountSession, given: unknown): boolean {
    if (typeof given !== 'string') return false;
    return safeEqual(given, session.csrf);
  }

  end(reply: FastifyReply): void {
    this.cookie.clear(reply);
  }
}
