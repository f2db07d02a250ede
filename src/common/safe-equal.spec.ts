import { safeEqual } from './safe-equal';

describe('safeEqual', () => {
  it('is true for the same string only', () => {
    expect(safeEqual('s3cret-é', 's3cret-é')).toBe(true);
    expect(safeEqual('s3cret-e', 's3cret-é')).toBe(false);
    expect(safeEqual('s3cret', 's3cret-longer')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
  });
});
