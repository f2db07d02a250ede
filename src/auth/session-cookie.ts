import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app.config';

/**
 * A short browser session: a JWT (COOKIE_SECRET, HS256, an audience of its
 * own so no other token of the bridge is accepted as it) in an HttpOnly,
 * SameSite=Lax cookie limited to the pages that use it, Secure on https.
 */
export class SessionCookie {
  private readonly secure: boolean;

  constructor(
    private readonly jwt: JwtService,
    config: ConfigService<AppConfig, true>,
    private readonly cookie: {
      name: string;
      audience: string;
      path: string;
      lifetimeSeconds: number;
    },
  ) {
    this.secure = config.get('publicUrl', { infer: true }).startsWith('https:');
  }

  /** The signed token for `payload` (to measure before setting it). */
  sign(payload: Record<string, unknown>): Promise<string> {
    return this.jwt.signAsync(payload, {
      algorithm: 'HS256',
      audience: this.cookie.audience,
      expiresIn: this.cookie.lifetimeSeconds,
    });
  }

  set(reply: FastifyReply, token: string): void {
    void reply.setCookie(this.cookie.name, token, {
      ...this.attributes(),
      maxAge: this.cookie.lifetimeSeconds,
    });
  }

  /** The verified payload of the request's cookie, or null (none, forged, expired, another audience). */
  async read(request: FastifyRequest): Promise<Record<string, unknown> | null> {
    const token = request.cookies?.[this.cookie.name];
    if (!token) return null;
    try {
      return await this.jwt.verifyAsync<Record<string, unknown>>(token, {
        algorithms: ['HS256'],
        audience: this.cookie.audience,
      });
    } catch {
      return null;
    }
  }

  clear(reply: FastifyReply): void {
    void reply.clearCookie(this.cookie.name, this.attributes());
  }

  private attributes() {
    return {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'lax' as const,
      path: this.cookie.path,
    };
  }
}
