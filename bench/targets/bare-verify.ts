import Fastify from 'fastify';
import { verifySignature } from './verify';

/**
 * The stack's limit: a bare Fastify route that only verifies the webhook HMAC
 * on the raw body and answers 202.
 */
async function main() {
  const app = Fastify({ logger: false, bodyLimit: 26_214_400 });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/github/webhooks', async (request, reply) => {
    if (!verifySignature(request.body as Buffer, request.headers['x-hub-signature-256'])) {
      return reply.code(401).send({ error: 'bad signature' });
    }
    return reply.code(202).send({ accepted: true });
  });
  app.get('/health/ready', async () => ({ status: 'ok' }));
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
}

void main();
