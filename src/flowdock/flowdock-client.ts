import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { STATUS_CODES } from 'node:http';
import { Agent } from 'undici';
import { AppConfig } from '../config/app.config';
import {
  FlowdockFlow,
  FlowdockSource,
  FlowdockThreadMessage,
  FlowdockTokens,
  FlowdockUser,
} from './flowdock-api.types';
import {
  FlowdockGoneError,
  FlowdockRateLimitedError,
  FlowdockRefusedError,
  FlowdockUnavailableError,
  parseRetryAfter,
} from './flowdock-errors';

interface RequestOptions {
  /** Names the call in errors ("the OAuth code exchange"). */
  operation: string;
  query?: Record<string, string>;
  json?: unknown;
  bearer?: string;
  headers?: Record<string, string>;
}

type Json = Record<string, unknown>;

/**
 * Every call the bridge makes to Flowdock: the base URL (FLOWDOCK_API_URL),
 * the timeout (FLOWDOCK_TIMEOUT_MS) and the mapping of failures to typed
 * errors live here once. Errors are FlowdockRefusedError (4xx; FlowdockGoneError
 * for 410) or FlowdockUnavailableError (timeout, network, 5xx;
 * FlowdockRateLimitedError for 429). No error message carries a token or code.
 */
@Injectable()
export class FlowdockClient implements OnApplicationShutdown {
  /**
   * Connections to Flowdock stay open between messages (the delivery worker
   * sends many threads at once): no TCP or TLS handshake per message.
   */
  // As many connections as the delivery worker sends threads at once.
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  private readonly apiUrl: string;
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly timeoutMs: number;

  constructor(config: ConfigService<AppConfig, true>) {
    const flowdock = config.get('flowdock', { infer: true });
    this.apiUrl = flowdock.apiUrl;
    this.clientId = flowdock.clientId;
    this.clientSecret = flowdock.clientSecret;
    this.timeoutMs = flowdock.timeoutMs;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close();
  }

  /**
   * Where to send a browser to ask the user for access (GET /oauth/authorize):
   * Flowdock then redirects to `redirectUri` with `code` and `state`.
   */
  authorizationUrl(options: { redirectUri: string; state: string; scope?: string }): string {
    const url = new URL(`${this.apiUrl}/oauth/authorize`);
    url.searchParams.set('client_id', this.clientId);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('redirect_uri', options.redirectUri);
    url.searchParams.set('state', options.state);
    if (options.scope) url.searchParams.set('scope', options.scope);
    return url.toString();
  }

  /** Exchanges an OAuth authorization code (POST /oauth/token, grant_type authorization_code). */
  async exchangeCode(code: string, redirectUri: string): Promise<FlowdockTokens> {
    const body = await this.request('POST', '/oauth/token', {
      operation: 'the OAuth code exchange',
      json: {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: this.clientId,
        client_secret: this.clientSecret,
      },
    });
    return toTokens(body, 'the OAuth code exchange');
  }

  /** A new access token from a refresh token (POST /oauth/token, grant_type refresh_token). */
  async refreshTokens(refreshToken: string): Promise<FlowdockTokens> {
    const body = await this.request('POST', '/oauth/token', {
      operation: 'the OAuth token refresh',
      json: {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: this.clientId,
        client_secret: this.clientSecret,
      },
    });
    return toTokens(body, 'the OAuth token refresh');
  }

  /** The user an OAuth access token belongs to (GET /user). */
  async getUser(accessToken: string): Promise<FlowdockUser> {
    const operation = 'the user lookup';
    const body = await this.request('GET', '/user', { operation, bearer: accessToken });
    if (!isId(body.id) || typeof body.nick !== 'string') {
      throw new FlowdockUnavailableError('the user in the answer has no id or nick', operation);
    }
    return {
      id: String(body.id),
      nick: body.nick,
      name: typeof body.name === 'string' ? body.name : body.nick,
      ...(typeof body.email === 'string' ? { email: body.email } : {}),
      ...(typeof body.avatar === 'string' ? { avatar: body.avatar } : {}),
    };
  }

  /** A flow by its id (GET /flows/find?id=), as the user of the access token sees it. */
  async findFlow(accessToken: string, flowId: string): Promise<FlowdockFlow> {
    const operation = 'the flow lookup';
    const body = await this.request('GET', '/flows/find', {
      operation,
      bearer: accessToken,
      query: { id: flowId },
    });
    const flow = toFlow(body);
    if (!flow)
      throw new FlowdockUnavailableError('the flow in the answer is incomplete', operation);
    return flow;
  }

  /**
   * The flows the user of the access token is a member of (GET /flows: joined
   * flows only; needs the `flow` scope). Entries Flowdock sends incomplete are left out.
   */
  async listFlows(accessToken: string): Promise<FlowdockFlow[]> {
    const operation = 'the list of your flows';
    const body = await this.requestList('/flows', { operation, bearer: accessToken });
    return (body as Json[])
      .filter((entry) => entry !== null && typeof entry === 'object' && entry.joined !== false)
      .map((entry) => toFlow(entry))
      .filter((flow): flow is FlowdockFlow => flow !== undefined);
  }

  /** Creates a source in a flow (POST /flows/:org/:flow/sources; needs the integration scope). */
  async createSource(
    accessToken: string,
    flowPath: { organization: string; flow: string },
    source: { name: string; externalUrl?: string },
  ): Promise<FlowdockSource> {
    const operation = 'creating a source';
    const path = `/flows/${encodeURIComponent(flowPath.organization)}/${encodeURIComponent(flowPath.flow)}/sources`;
    const body = await this.request('POST', path, {
      operation,
      bearer: accessToken,
      json: { name: source.name, external_url: source.externalUrl },
    });
    if (!isId(body.id) || typeof body.flow_token !== 'string') {
      throw new FlowdockUnavailableError('the answer has no source id or flow token', operation);
    }
    return {
      id: String(body.id),
      name: typeof body.name === 'string' ? body.name : source.name,
      flowToken: body.flow_token,
    };
  }

  /**
   * Posts an activity or discussion message to the flow of a source's flow
   * token (POST /messages). With `waitForMessage`, Flowdock answers with the
   * stored message (`X-flowdock-wait-for-message`, slower): its `thread_id`
   * is returned, when Flowdock gave one (a 202 gives none).
   */
  async postMessage(
    flowToken: string,
    message: FlowdockThreadMessage,
    options: { waitForMessage?: boolean } = {},
  ): Promise<{ threadId?: string }> {
    const body = await this.request('POST', '/messages', {
      operation: `posting a message to thread ${message.external_thread_id}`,
      json: { ...message, flow_token: flowToken },
      ...(options.waitForMessage ? { headers: { 'x-flowdock-wait-for-message': 'true' } } : {}),
    });
    return typeof body.thread_id === 'string' && body.thread_id !== ''
      ? { threadId: body.thread_id }
      : {};
  }

  /**
   * Posts a chat message into a thread by Flowdock's thread id, as the
   * source of the flow token (POST /messages, event `message`): the bridge's
   * own answers to people in a thread.
   */
  async postThreadChat(
    flowToken: string,
    chat: { threadId: string; content: string; uuid: string },
  ): Promise<void> {
    await this.request('POST', '/messages', {
      operation: `posting a message to Flowdock thread ${chat.threadId}`,
      json: {
        flow_token: flowToken,
        event: 'message',
        thread_id: chat.threadId,
        content: chat.content,
        uuid: chat.uuid,
      },
    });
  }

  private async request(method: string, path: string, options: RequestOptions): Promise<Json> {
    const body = await this.send(method, path, options);
    if (Array.isArray(body)) {
      throw new FlowdockUnavailableError('the answer is a list, not an object', options.operation);
    }
    return body;
  }

  private async requestList(path: string, options: RequestOptions): Promise<unknown[]> {
    const body = await this.send('GET', path, options);
    if (!Array.isArray(body)) {
      throw new FlowdockUnavailableError('the answer is not a list', options.operation);
    }
    return body;
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<Json | unknown[]> {
    const { operation } = options;
    const url = new URL(this.apiUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
    Object.assign(headers, options.headers);

    let status: number;
    let retryAfter: string | undefined;
    let text: string;
    try {
      // undici's request(), not fetch(): a fraction of the cost per call, redirects not followed.
      const response = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: method,
        headers,
        body: options.json === undefined ? undefined : JSON.stringify(options.json),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.statusCode;
      const header = response.headers['retry-after'];
      retryAfter = Array.isArray(header) ? header[0] : header;
      text = await response.body.text();
    } catch (error) {
      throw new FlowdockUnavailableError(describeFetchError(error, this.timeoutMs), operation);
    }

    const answer = parseJson(text);
    const body = Array.isArray(answer) ? undefined : answer;
    if (status >= 200 && status < 300) {
      if (Array.isArray(answer)) return answer;
      if (text.trim() !== '' && body === undefined) {
        throw new FlowdockUnavailableError('the answer is not JSON', operation, status);
      }
      return body ?? {};
    }
    const message = errorMessage(body, STATUS_CODES[status] ?? '');
    if (status === 429) {
      throw new FlowdockRateLimitedError(operation, parseRetryAfter(retryAfter ?? null));
    }
    if (status === 410) throw new FlowdockGoneError(message, operation);
    if (status >= 400 && status < 500 && status !== 408) {
      throw new FlowdockRefusedError(status, message, operation);
    }
    throw new FlowdockUnavailableError(`HTTP ${status}: ${message}`, operation, status);
  }
}

/** A flow of GET /flows or /flows/find; undefined when its id or names are missing. */
function toFlow(body: Json): FlowdockFlow | undefined {
  const organization = (body?.organization ?? {}) as Json;
  if (
    !isId(body?.id) ||
    typeof body.parameterized_name !== 'string' ||
    typeof organization.parameterized_name !== 'string'
  ) {
    return undefined;
  }
  return {
    id: String(body.id),
    name: typeof body.name === 'string' ? body.name : body.parameterized_name,
    organization: organization.parameterized_name,
    flow: body.parameterized_name,
    path: `${organization.parameterized_name}/${body.parameterized_name}`,
    ...(typeof body.web_url === 'string' ? { webUrl: body.web_url } : {}),
  };
}

function toTokens(body: Json, operation: string): FlowdockTokens {
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new FlowdockUnavailableError('the answer has no access token', operation);
  }
  return {
    accessToken: body.access_token,
    tokenType: typeof body.token_type === 'string' ? body.token_type : 'bearer',
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
    ...(typeof body.expires_in === 'number' ? { expiresIn: body.expires_in } : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
  };
}

function isId(value: unknown): value is string | number {
  return (
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && value !== '')
  );
}

/** An object or a list; undefined for anything else. */
function parseJson(text: string): Json | unknown[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Json | unknown[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Flowdock's explanation from an error body ({message}, or OAuth's {error, error_description}). */
function errorMessage(body: Json | undefined, fallback: string): string {
  const parts = [body?.message, body?.error, body?.error_description].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  const text = parts.length > 0 ? parts.join(': ') : fallback || 'no explanation';
  // Flowdock's text is shown to people and logged: keep it short.
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; cause?: { code?: string } };
  if (
    err?.name === 'TimeoutError' ||
    err?.name === 'AbortError' ||
    err?.code === 'UND_ERR_ABORTED'
  ) {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = err?.code ?? err?.cause?.code;
  return code ? `connection failed (${code})` : 'connection failed';
}
