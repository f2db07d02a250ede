import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import { escapeHtml } from '../common/html';

// GitHub text is untrusted: raw HTML in Markdown is shown as text (html: false),
// and the rendered HTML is sanitized again to an allowlist as a second wall.
const markdown = new MarkdownIt({ html: false, linkify: true, breaks: true });

const SAFE_TAGS = [
  'p',
  'br',
  'hr',
  'strong',
  'em',
  'del',
  's',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
];

const linkAttributes = {
  transformTags: {
    a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }),
  },
  allowedAttributes: { a: ['href', 'rel'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowProtocolRelative: false,
};

/** Longest Markdown text rendered; GitHub bodies can be huge, Flowdock threads should not be. */
const MAX_MARKDOWN_LENGTH = 10_000;

/** GitHub-flavoured Markdown as sanitized HTML (no scripts, styles, images or unsafe links). */
export function markdownToSafeHtml(text: string | null | undefined): string {
  if (!text) return '';
  const clipped =
    text.length > MAX_MARKDOWN_LENGTH ? `${text.slice(0, MAX_MARKDOWN_LENGTH)}…` : text;
  return sanitizeHtml(markdown.render(clipped), {
    ...linkAttributes,
    allowedTags: SAFE_TAGS,
  }).trim();
}

/** An `a` link with escaped text, for Flowdock fields and titles (which allow `a` only). */
export function link(href: string, text: string): string {
  if (!isHttpUrl(href)) return escapeHtml(text);
  return `<a href="${escapeHtml(href)}" rel="nofollow noopener noreferrer">${escapeHtml(text)}</a>`;
}

export function isHttpUrl(value: string | undefined): value is string {
  if (!value) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
