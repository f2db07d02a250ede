/**
 * Longest GitHub text kept (a pull request's or issue's body, a comment, a
 * review), in characters of its Markdown: Flowdock shows messages of up to
 * 8,096 characters, and a longer one is better read on GitHub.
 */
export const MAX_TEXT_LENGTH = 8_000;
export const TRUNCATED_MARKER = '…(truncated, see GitHub)';

/** `text` cut to MAX_TEXT_LENGTH with the marker at the end, or as it is when it fits. */
export function boundedText(text: string): string {
  // Anything else is left for the shape check to refuse.
  if (typeof text !== 'string' || text.length <= MAX_TEXT_LENGTH) return text;
  let end = MAX_TEXT_LENGTH - TRUNCATED_MARKER.length - 2;
  // Never between the two halves of a surrogate pair.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}\n\n${TRUNCATED_MARKER}`;
}
