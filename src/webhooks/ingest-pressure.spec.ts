import { IngestPressure } from './ingest-pressure';

describe('IngestPressure', () => {
  it('is high while 8 or more requests are waiting, whether they end in an answer or a throw', async () => {
    const pressure = new IngestPressure();
    const gates: (() => void)[] = [];
    const held = (fail: boolean) =>
      pressure.track(
        () =>
          new Promise<void>((resolve, reject) =>
            gates.push(() => (fail ? reject(new Error('refused')) : resolve())),
          ),
      );
    const answered = Array.from({ length: 7 }, () => held(false));
    expect(pressure.high).toBe(false);
    const refused = held(true);
    expect(pressure.high).toBe(true);
    gates.pop()!();
    await expect(refused).rejects.toThrow('refused');
    expect(pressure.high).toBe(false);
    gates.forEach((open) => open());
    await Promise.all(answered);
    expect(pressure.high).toBe(false);
    expect(await pressure.track(async () => 'stored')).toBe('stored');
  });
});
