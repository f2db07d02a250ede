import type { FastifyReply, FastifyRequest } from 'fastify';

/** The content types GitHub sends a webhook as (the webhook's "Content type" setting). */
const GITHUB_CONTENT_TYPE = /^application\/(?:json|x-www-form-urlencoded)\s*(?:;|$)/i;

/**
 * An onRequest hook of the webhook route: any other content type answers 415
 * before the body is read, saying what GitHub sends, rather than a signature
 * error that would send the operator after the secret.
 */
export function requireGitHubContentType(
  request: FastifyRequest,
  reply: FastifyReply,
  done: () => void,
): void {
  const type = request.headers['content-type'];
  if (typeof type === 'string' && GITHUB_CONTENT_TYPE.test(type)) return done();
  const came = typeof type === 'string' ? `as "${type.slice(0, 100)}"` : 'without a Content-Type';
  void reply.code(415).send({
    statusCode: 415,
    error: 'Unsupported Media Type',
    message: `GitHub sends webhooks as application/json or application/x-www-form-urlencoded; this request came ${came}. Check the webhook's "Content type" in GitHub.`,
  });
}
