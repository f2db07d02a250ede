import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../config/app.config';
import { FlowdockUser } from '../flowdock/flowdock-api.types';
import { FlowdockClient } from '../flowdock/flowdock-client';
import { OAuthPurpose, OAuthState } from './oauth-state.entity';

/**
 * Flowdock OAuth used only to learn who is at the browser. `profile` is the
 * one scope that needs: the bridge never acts as the user in Flowdock, and
 * the Flowdock token is dropped as soon as GET /user has answered.
 */
const FLOWDOCK_SCOPES = ['profile'];

/** A sign-in that ended at the callback: who, their access token (for this request only), the step. */
export interface CompletedSignIn {
  user: FlowdockUser;
  accessToken: string;
  step: OAuthState;
}

/** Ends a sign-in of another module's purpose: sets its session, answers the browser. */
type SignInCompletion = (signIn: CompletedSignIn, reply: FastifyReply) => Promise<unknown>;

@Injectable()
export class FlowdockSignInService {
  readonly redirectUri: string;
  private readonly completions = new Map<OAuthPurpose, SignInCompletion>();

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly flowdock: FlowdockClient,
  ) {
    this.redirectUri = `${config.get('publicUrl', { infer: true })}/auth/flowdock/callback`;
  }

  authorizeUrl(state: string, scopes: string[] = FLOWDOCK_SCOPES): string {
    return this.flowdock.authorizationUrl({
      redirectUri: this.redirectUri,
      state,
      scope: scopes.join(' '),
    });
  }

  /** The Flowdock user who approved; FlowdockRefusedError / FlowdockUnavailableError otherwise. */
  async userFromCode(code: string): Promise<FlowdockUser> {
    return (await this.signIn(code)).user;
  }

  /** The user who approved and the access token, which the caller drops after its request. */
  async signIn(code: string): Promise<{ user: FlowdockUser; accessToken: string }> {
    const tokens = await this.flowdock.exchangeCode(code, this.redirectUri);
    return {
      user: await this.flowdock.getUser(tokens.accessToken),
      accessToken: tokens.accessToken,
    };
  }

  /**
   * Another module's sign-in (one Flowdock callback URL serves them all): the
   * callback hands a step of `purpose` to `completion`. Auth depends on no such module.
   */
  completeWith(purpose: OAuthPurpose, completion: SignInCompletion): void {
    this.completions.set(purpose, completion);
  }

  completion(purpose: OAuthPurpose): SignInCompletion | undefined {
    return this.completions.get(purpose);
  }

  /** The purposes other modules complete, for the callback's state check. */
  completedPurposes(): OAuthPurpose[] {
    return [...this.completions.keys()];
  }
}
