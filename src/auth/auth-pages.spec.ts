import { escapeHtml } from '../common/html';
import { renderPage } from '../http/html-page';
import { FAILURE_PAGES } from './auth-pages';

describe('auth pages', () => {
  it('escapes every interpolated value', () => {
    const html = renderPage({
      status: 200,
      title: '<script>alert(1)</script>',
      message: `Linked to @"><img src=x onerror=alert(1)>`,
      next: "it's & done",
    });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('it&#39;s &amp; done');
    expect(escapeHtml(`<>"'&`)).toBe('&lt;&gt;&quot;&#39;&amp;');
  });

  it('gives every failure a 4xx/5xx status, a sentence and a next step', () => {
    for (const [kind, page] of Object.entries(FAILURE_PAGES)) {
      expect([kind, page.status >= 400 && page.status < 600]).toEqual([kind, true]);
      expect(page.message.length).toBeGreaterThan(20);
      expect(page.next.length).toBeGreaterThan(20);
    }
  });
});
