import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { request } from '@octokit/request';
import { Octokit } from '@octokit/rest';
import { AppConfig } from '../config/app.config';

/** No call to GitHub may hold a request (or a refresh lock) longer than this. */
export const GITHUB_TIMEOUT_MS = 10_000;

const USER_AGENT = 'flowdock-github-bridge';

const fetchWithTimeout: typeof fetch = (input, init) =>
  fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(GITHUB_TIMEOUT_MS) });

/**
 * Where every Octokit and OAuth request the bridge makes is built: base URLs
 * (GITHUB_API_URL for REST, GITHUB_URL for OAuth), user agent and timeout.
 */
@Injectable()
export class GitHubOctokitFactory {
  private readonly apiUrl: string;
  /** `request` for @octokit/oauth-methods: its base URL is the web URL, where /login/oauth lives. */
  readonly oauthRequest: typeof request;
  /** `request` for the app's own REST calls (GITHUB_API_URL), such as deleting a grant. */
  readonly apiRequest: typeof request;

  constructor(config: ConfigService<AppConfig, true>) {
    const github = config.get('github', { infer: true });
    this.apiUrl = github.apiUrl;
    this.oauthRequest = request.defaults({
      baseUrl: github.url,
      headers: { 'user-agent': USER_AGENT },
      request: { fetch: fetchWithTimeout },
    });
    this.apiRequest = request.defaults({
      baseUrl: github.apiUrl,
      headers: { 'user-agent': USER_AGENT },
      request: { fetch: fetchWithTimeout },
    });
  }

  /**
   * An Octokit acting with `token`. `onUnauthorized` runs when GitHub answers
   * 401 (the token was revoked or expired under us) before the error is rethrown.
   */
  forToken(token: string, onUnauthorized?: () => Promise<void>): Octokit {
    const octokit = new Octokit({
      auth: token,
      baseUrl: this.apiUrl,
      userAgent: USER_AGENT,
      request: { fetch: fetchWithTimeout },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    if (onUnauthorized) {
      octokit.hook.error('request', async (error) => {
        if ((error as { status?: number }).status === 401) await onUnauthorized();
        throw error;
      });
    }
    return octokit;
  }
}
