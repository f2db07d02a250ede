/**
 * Narrows untrusted parsed data (a JWT's payload, a streamed event) to an
 * object whose fields can be read and then checked one by one.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
