import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { request } from '@octokit/request';
import { Octokit } from '@octokit/rest';
import { AppConfig } from '../config/app.config';

const USER_AGENT = 'flowdock-github-bridge';

/** fetch that gives up after `timeoutMs`: no call to GitHub holds a request (or a refresh lock) longer. */
const fetchWithin =
  (timeoutMs: number): typeof fetch =>
  (input, init) =>
    fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });

/** Whether a failed GitHub call ran out of time (GITHUB_TIMEOUT_MS) rather than being refused. */
export function isGitHubTimeout(error: unknown): boolean {
  const { name, cause } = (error ?? {}) as { name?: string; cause?: { name?: string } };
  return name === 'TimeoutError' || cause?.name === 'TimeoutError';
}

/**
 * Where every Octokit and OAuth request the bridge makes is built: base URLs
 * (GITHUB_API_URL for REST, GITHUB_URL for OAuth), user agent and timeout.
 */
@Injectable()
export class GitHubOctokitFactory {
  private readonly apiUrl: string;
  private readonly fetch: typeof fetch;
  /** GITHUB_TIMEOUT_MS: how long any call to GitHub may take. */
  readonly timeoutMs: number;
  /** `request` for @octokit/oauth-methods: its base URL is the web URL, where /login/oauth lives. */
  readonly oauthRequest: typeof request;
  /** `request` for the app's own REST calls (GITHUB_API_URL), such as deleting a grant. */
  readonly apiRequest: typeof request;

  constructor(config: ConfigService<AppConfig, true>) {
    const github = config.get('github', { infer: true });
    this.apiUrl = github.apiUrl;
    this.timeoutMs = github.timeoutMs;
    this.fetch = fetchWithin(github.timeoutMs);
    this.oauthRequest = request.defaults({
      baseUrl: github.url,
      headers: { 'user-agent': USER_AGENT },
      request: { fetch: this.fetch },
    });
    this.apiRequest = request.defaults({
      baseUrl: github.apiUrl,
      headers: { 'user-agent': USER_AGENT },
      request: { fetch: this.fetch },
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
      request: { fetch: this.fetch },
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
