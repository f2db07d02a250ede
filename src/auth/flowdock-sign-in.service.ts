import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../config/app.config';
import { FlowdockUser } from '../flowdock/flowdock-api.types';
import { FlowdockClient } from '../flowdock/flowdock-client';

/**
 * Flowdock OAuth used only to learn who is at the browser. `profile` is the
 * one scope that needs: the bridge never acts as the user in Flowdock, and
 * the Flowdock token is dropped as soon as GET /user has answered.
 */
export const FLOWDOCK_SCOPES = ['profile'];

@Injectable()
export class FlowdockSignInService {
  private readonly apiUrl: string;
  private readonly clientId: string;
  readonly redirectUri: string;

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly flowdock: FlowdockClient,
  ) {
    const flowdockConfig = config.get('flowdock', { infer: true });
    this.apiUrl = flowdockConfig.apiUrl;
    this.clientId = flowdockConfig.clientId;
    this.redirectUri = `${config.get('publicUrl', { infer: true })}/auth/flowdock/callback`;
  }

  authorizeUrl(state: string): string {
    const url = new URL(`${this.apiUrl}/oauth/authorize`);
    url.searchParams.set('client_id', this.clientId);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('scope', FLOWDOCK_SCOPES.join(' '));
    url.searchParams.set('state', state);
    return url.toString();
  }

  /** The Flowdock user who approved; FlowdockRefusedError / FlowdockUnavailableError otherwise. */
  async userFromCode(code: string): Promise<FlowdockUser> {
    const tokens = await this.flowdock.exchangeCode(code, this.redirectUri);
    return this.flowdock.getUser(tokens.accessToken);
  }
}
