import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { request } from '@octokit/request';
import { Octokit } from '@octokit/rest';
import { Agent, Dispatcher, interceptors } from 'undici';
import { AppConfig } from '../config/app.config';

const USER_AGENT = 'flowdock-github-bridge';
/** GitHub answers a renamed repository's API paths with a redirect. */
const MAX_REDIRECTS = 3;
/** Statuses whose Response must have no body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * The `fetch` Octokit calls GitHub with: undici's request() on a kept-alive
 * pool (the global fetch costs several times more per call), following
 * redirects as fetch does, and giving up after `timeoutMs` — no call to
 * GitHub holds a request (or a refresh lock) longer.
 */
function fetchThrough(dispatcher: Dispatcher, timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const { origin } = new URL(url);
    const response = await dispatcher.request({
      origin,
      path: url.slice(origin.length) || '/',
      method: init?.method ?? 'GET',
      headers,
      body: (init?.body ?? undefined) as string | Buffer | undefined,
      signal: init?.signal ?? AbortSignal.timeout(timeoutMs),
    });
    const answer = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) answer.append(name, one);
    }
    const body = NULL_BODY.has(response.statusCode)
      ? (await response.body.dump(), null)
      : await response.body.arrayBuffer();
    return new Response(body, { status: response.statusCode, headers: answer });
  };
}

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
export class GitHubOctokitFactory implements OnApplicationShutdown {
  private readonly apiUrl: string;
  private readonly agent = new Agent({ keepAliveTimeout: 30_000 });
  private readonly fetch: typeof fetch;
  /** `request` for @octokit/oauth-methods: its base URL is the web URL, where /login/oauth lives. */
  readonly oauthRequest: typeof request;
  /** `request` for the app's own REST calls (GITHUB_API_URL), such as deleting a grant. */
  readonly apiRequest: typeof request;

  constructor(config: ConfigService<AppConfig, true>) {
    const github = config.get('github', { infer: true });
    this.apiUrl = github.apiUrl;
    this.fetch = fetchThrough(
      this.agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })),
      github.timeoutMs,
    );
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

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close();
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
