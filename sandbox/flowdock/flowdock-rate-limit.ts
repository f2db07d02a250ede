/** How long a post may still arrive after a 429 without counting as ignoring it (it was on its way). */
const IN_FLIGHT_GRACE_MS = 250;

interface TokenBucket {
  /** Posts the token may make now (refilled continuously, at most one second's worth). */
  tokens: number;
  at: number;
  /** The last 429 that began a wait (when, and until when). */
  toldAt: number;
  waitUntil: number;
}

/**
 * A rate limiter on message posts, per flow token, as an API in front of
 * Flowdock would apply one: a token bucket of `postsPerSecond`, holding at
 * most one second's worth; a post that finds it empty answers 429 with
 * Retry-After (whole seconds, so 1). It counts the waits it asked for, the
 * posts it refused, and — for information, as arrival times also carry the
 * client's own delays — the posts that arrived inside a wait more than
 * 250 ms after it was asked for.
 */
export class FlowTokenRateLimit {
  /** 429s answered. */
  limited = 0;
  /** 429s that began a wait (the others met a token already told to wait). */
  waits = 0;
  /** Posts that arrived while their token had been told to wait, after a grace for posts on their way. */
  ignoredRetryAfter = 0;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(readonly postsPerSecond: number) {
    if (!(postsPerSecond >= 1)) throw new Error('postsPerSecond must be at least 1');
  }

  /** Counts a post of this token; with the bucket empty, the Retry-After (seconds) to answer with. */
  admit(flowToken: string, now = Date.now()): number | undefined {
    let bucket = this.buckets.get(flowToken);
    if (!bucket) {
      bucket = { tokens: this.postsPerSecond, at: now, toldAt: 0, waitUntil: 0 };
      this.buckets.set(flowToken, bucket);
    }
    if (now < bucket.waitUntil && now - bucket.toldAt > IN_FLIGHT_GRACE_MS) {
      this.ignoredRetryAfter++;
    }
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.postsPerSecond, bucket.tokens + elapsed * this.postsPerSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    this.limited++;
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / this.postsPerSecond));
    if (now >= bucket.waitUntil) {
      this.waits++;
      bucket.toldAt = now;
      bucket.waitUntil = now + retryAfter * 1000;
    }
    return retryAfter;
  }
}
