import { retryDelayMs } from './delivery-backoff';

describe('retryDelayMs', () => {
  const options = { baseMs: 1000, maxMs: 60_000 };

  it('doubles per attempt, between half and all of the exponential delay', () => {
    expect(retryDelayMs(1, options, () => 0)).toBe(500);
    expect(retryDelayMs(1, options, () => 1)).toBe(1000);
    expect(retryDelayMs(2, options, () => 1)).toBe(2000);
    expect(retryDelayMs(5, options, () => 1)).toBe(16_000);
    expect(retryDelayMs(5, options, () => 0.5)).toBe(12_000);
  });

  it('is capped at maxMs however many attempts failed', () => {
    expect(retryDelayMs(40, options, () => 1)).toBe(60_000);
    expect(retryDelayMs(1000, options, () => 1)).toBe(60_000);
  });

  it('never retries sooner than Retry-After', () => {
    expect(retryDelayMs(1, { ...options, retryAfterMs: 7000 }, () => 1)).toBe(7000);
    expect(retryDelayMs(9, { ...options, retryAfterMs: 7000 }, () => 1)).toBe(60_000);
  });
});
