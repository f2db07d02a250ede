/**
 * Delay before the next attempt after `attempts` failures: exponential from
 * `baseMs`, capped at `maxMs`, with jitter in the upper half so that many
 * messages failing together (an outage) do not all retry in the same instant.
 * Flowdock's Retry-After, when given, wins (it is never shortened).
 */
export function retryDelayMs(
  attempts: number,
  options: { baseMs: number; maxMs: number; retryAfterMs?: number },
  random: () => number = Math.random,
): number {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempts - 1));
  const jittered = exponential / 2 + (exponential / 2) * random();
  return Math.round(Math.max(jittered, options.retryAfterMs ?? 0));
}
