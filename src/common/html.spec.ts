import { escapeHtml } from './html';

describe('escapeHtml', () => {
  it('writes markup characters as entities, in text and in quoted attributes', () => {
    expect(escapeHtml(`<img src="x" onerror='alert(1)'> & more`)).toBe(
      '&lt;img src=&quot;x&quot; onerror=&#39;alert(1)&#39;&gt; &amp; more',
    );
  });

  it('writes a number out and null or undefined as nothing', () => {
    expect(escapeHtml(42)).toBe('42');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(undefined)).toBe('');
  });
});
