/** How long a post may still arrive after a 429 without counting as ignoring it (it was on its way). */
const IN_FLIGHT_GRACE_MS = 250;

interface TokenWindow {
  start: number;
  posts: number;
  /** The last 429 that told this token to wait (when, and until when); posts inside it ignore it. */
  toldAt: number;
  waitUntil: number;
}

/**
 * A rate limiter on message posts, per flow token, as an API in front of
 * Flowdock would count them: at most `postsPerSecond` posts in each
 * one-second window; a post over it answers 429 with Retry-After, the
 * seconds until its window ends. It also counts the posts that arrived
 * after a 429 had told that token to wait (beyond a short grace for posts
 * already on their way): a client that honours Retry-After makes none.
 */
export class FlowTokenRateLimit {
  /** 429s answered. */
  limited = 0;
  /** Posts that came while their token had been told to wait. */
  ignoredRetryAfter = 0;
  private readonly windows = new Map<string, TokenWindow>();

  constructor(readonly postsPerSecond: number) {
    if (!(postsPerSecond >= 1)) throw new Error('postsPerSecond must be at least 1');
  }

  /** Counts a post of this token; over the limit, the Retry-After (seconds) to answer with. */
  admit(flowToken: string, now = Date.now()): number | undefined {
    let window = this.windows.get(flowToken);
    if (!window) {
      window = { start: now, posts: 0, toldAt: 0, waitUntil: 0 };
      this.windows.set(flowToken, window);
    }
    if (now < window.waitUntil && now - window.toldAt > IN_FLIGHT_GRACE_MS) {
      this.ignoredRetryAfter++;
    }
    if (now - window.start >= 1000) {
      window.start = now;
      window.posts = 0;
    }
    window.posts++;
    if (window.posts <= this.postsPerSecond) return undefined;
    this.limited++;
    const retryAfter = Math.max(1, Math.ceil((window.start + 1000 - now) / 1000));
    if (now >= window.waitUntil) {
      window.toldAt = now;
      window.waitUntil = now + retryAfter * 1000;
    }
    return retryAfter;
  }
}
