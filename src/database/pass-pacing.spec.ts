import { PassPacing } from './pass-pacing';

describe('PassPacing', () => {
  it('holds processing back while 8 or more webhook requests wait, for 10 s of one storm at most', () => {
    const pacing = new PassPacing();
    expect(pacing.interval(0, 1, 0)).toBe(50);
    expect(pacing.interval(7, 1, 100)).toBe(50);
    // A storm starts: passes every 500 ms.
    expect(pacing.interval(8, 1, 1_000)).toBe(500);
    for (let now = 1_500; now < 11_000; now += 500) expect(pacing.interval(50, 1, now)).toBe(500);
    // Ten seconds into it: full pace again, so that a lasting load is not left behind.
    expect(pacing.interval(50, 1, 11_000)).toBe(50);
    // A lull shorter than a second does not make it a new storm.
    expect(pacing.interval(2, 1, 11_500)).toBe(50);
    expect(pacing.interval(50, 1, 12_000)).toBe(50);
    // A second of calm ends it; the next storm is held back again.
    expect(pacing.interval(0, 1, 12_600)).toBe(50);
    expect(pacing.interval(9, 1, 13_100)).toBe(500);
  });

  it('is no storm while the event loop is mostly idle: the requests wait for a slow commit, not for the CPU', () => {
    const pacing = new PassPacing();
    expect(pacing.interval(20, 0.3, 0)).toBe(50);
    expect(pacing.interval(20, 0.79, 200)).toBe(50);
    expect(pacing.interval(20, 0.8, 400)).toBe(500);
  });
});
