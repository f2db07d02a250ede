import { createParser } from 'eventsource-parser';
import { STATUS_CODES } from 'node:http';
import { Agent } from 'undici';
import { parseRetryAfter } from '../flowdock/flowdock-errors';

/** One Server-Sent Event of the stream: a JSON message and the id to resume after it. */
export interface StreamEvent {
  id: string | undefined;
  data: string;
}

interface StreamRequest {
  /** FLOWDOCK_STREAM_URL. */
  baseUrl: string;
  /** The flow, "organization/flow" (or Flowdock's flow id). */
  flow: string;
  accessToken: string;
  /** Resume after this event (`Last-Event-ID`): the server sends what came since. */
  lastEventId?: string;
  /** Handles each event in order; the next is read when it has settled. A throw ends the stream. */
  onEvent: (event: StreamEvent) => Promise<void>;
  /** Called once the server accepted the stream. */
  onOpen?: () => void;
  signal: AbortSignal;
  /** How long the stream may stay silent (no event, no keep-alive) before it is taken as dead. */
  idleMs: number;
  /** How long the server may take to answer the request. */
  connectTimeoutMs: number;
}

/** The stream refused the token (401, 403) or the flow (404): retrying the same token will not help. */
export class StreamRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`the stream answered ${status}: ${reason}`);
    this.name = 'StreamRefusedError';
  }
}

/** The stream failed in a way that may pass: network, timeout, silence, 5xx, 429. */
export class StreamUnavailableError extends Error {
  constructor(
    reason: string,
    /** Retry-After of a 429 or 503, when the server said. */
    readonly retryAfterMs?: number,
  ) {
    super(reason);
    this.name = 'StreamUnavailableError';
  }
}

// Streams stay open for hours: no body timeout here (the idle watchdog replaces it).
const agent = new Agent({ bodyTimeout: 0, keepAliveTimeout: 10_000 });

/**
 * Reads one flow's messages from Flowdock's streaming API as an event-stream
 * (`GET /flows?filter=<flow>`, `Accept: text/event-stream`, Bearer token,
 * `Last-Event-ID` to resume). Resolves when the server ends the stream;
 * rejects with StreamRefusedError, StreamUnavailableError, an abort, or what
 * `onEvent` threw. Keep-alives (comments) only reset the idle watchdog.
 */
export async function readStream(request: StreamRequest): Promise<void> {
  const url = new URL(`${request.baseUrl}/flows`);
  url.searchParams.set('filter', request.flow);
  const controller = new AbortController();
  const abort = () => controller.abort(request.signal.reason);
  // A signal aborted before this call (while the caller awaited something) fires no event.
  if (request.signal.aborted) abort();
  else request.signal.addEventListener('abort', abort, { once: true });
  let idle: NodeJS.Timeout | undefined;
  let silent = false;
  const watch = (ms: number) => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      silent = true;
      controller.abort();
    }, ms);
  };
  try {
    watch(request.connectTimeoutMs);
    let response;
    try {
      response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: {
          accept: 'text/event-stream',
          authorization: `Bearer ${request.accessToken}`,
          ...(request.lastEventId ? { 'last-event-id': request.lastEventId } : {}),
        },
        signal: controller.signal,
      });
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw new StreamUnavailableError(
        silent
          ? `no answer within ${request.connectTimeoutMs} ms`
          : `connection failed (${(error as { code?: string }).code ?? (error as Error).message})`,
      );
    }
    const status = response.statusCode;
    if (status !== 200) {
      const text = await response.body.text().catch(() => '');
      const reason = explain(text, status);
      if ([401, 403, 404].includes(status)) throw new StreamRefusedError(status, reason);
      const header = response.headers['retry-after'];
      throw new StreamUnavailableError(
        `the stream answered ${status}: ${reason}`,
        parseRetryAfter((Array.isArray(header) ? header[0] : header) ?? null),
      );
    }
    request.onOpen?.();
    watch(request.idleMs);
    const queue: StreamEvent[] = [];
    const parser = createParser({
      onEvent: (event) => queue.push({ id: event.id, data: event.data }),
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        watch(request.idleMs);
        parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
        while (queue.length > 0) await request.onEvent(queue.shift()!);
      }
    } catch (error) {
      if (silent) {
        throw new StreamUnavailableError(`the stream was silent for ${request.idleMs} ms`);
      }
      if (request.signal.aborted || !isNetworkError(error)) throw error;
      throw new StreamUnavailableError(`the stream broke (${(error as Error).message})`);
    }
  } finally {
    clearTimeout(idle);
    request.signal.removeEventListener('abort', abort);
  }
}

function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  return (
    code.startsWith('UND_ERR') || code.startsWith('E') || (error as Error)?.name === 'AbortError'
  );
}

/** Flowdock's explanation from an error body, short; never the request's token. */
function explain(text: string, status: number): string {
  let message: unknown;
  try {
    message = (JSON.parse(text) as { message?: unknown }).message;
  } catch {
    message = undefined;
  }
  const reason = typeof message === 'string' && message !== '' ? message : STATUS_CODES[status];
  return (reason ?? `HTTP ${status}`).slice(0, 200);
}
