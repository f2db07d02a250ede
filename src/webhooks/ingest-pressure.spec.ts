import { IngestPressure } from './ingest-pressure';

describe('IngestPressure', () => {
  it('is high from 8 requests waiting, and each is counted out once however often it ends', () => {
    const pressure = new IngestPressure();
    const done = Array.from({ length: 7 }, () => pressure.started());
    expect(pressure.high).toBe(false);
    const eighth = pressure.started();
    expect(pressure.high).toBe(true);
    eighth();
    eighth();
    expect(pressure.high).toBe(false);
    done.push(pressure.started());
    expect(pressure.high).toBe(true);
    done.forEach((end) => end());
    expect(pressure.high).toBe(false);
  });
});
