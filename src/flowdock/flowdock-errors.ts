/**
 * What went wrong when calling Flowdock, as callers need to tell it apart:
 * Flowdock refused the request (a 4xx: a bad code, token or message — retrying
 * the same request will not help), or Flowdock could not be reached or failed
 * (timeout, connection error, 5xx, 429 — try again later).
 */
export abstract class FlowdockError extends Error {}

/** Flowdock answered 4xx: it refused this code, token or message. */
export class FlowdockRefusedError extends FlowdockError {
  constructor(
    readonly status: number,
    /** Flowdock's own explanation (never contains our secrets). */
    readonly flowdockMessage: string,
    operation: string,
  ) {
    super(`Flowdock refused ${operation} (${status}): ${flowdockMessage}`);
    this.name = 'FlowdockRefusedError';
  }
}

/** 410 Gone on a flow token: the source was removed in Flowdock; stop posting to it. */
export class FlowdockGoneError extends FlowdockRefusedError {
  constructor(flowdockMessage: string, operation: string) {
    super(410, flowdockMessage, operation);
    this.name = 'FlowdockGoneError';
  }
}

/** Flowdock timed out, was unreachable, answered 5xx or something unreadable. */
export class FlowdockUnavailableError extends FlowdockError {
  constructor(
    reason: string,
    operation: string,
    /** The HTTP status when Flowdock answered at all. */
    readonly status?: number,
  ) {
    super(`Flowdock is unavailable for ${operation}: ${reason}`);
    this.name = 'FlowdockUnavailableError';
  }
}

/** 429: Flowdock asks us to slow down, for retryAfterMs when it said so. */
export class FlowdockRateLimitedError extends FlowdockUnavailableError {
  constructor(
    operation: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(
      `rate limited${retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`}`,
      operation,
      429,
    );
    this.name = 'FlowdockRateLimitedError';
  }
}

/** Milliseconds from a Retry-After header (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
