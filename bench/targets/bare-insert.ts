import Fastify from 'fastify';
import { Pool } from 'pg';
import { verifySignature } from './verify';

/**
 * The limit with durability: verify the HMAC, then insert the delivery into
 * PostgreSQL (one row, committed) before answering 202.
 */
async function main() {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_deliveries (
    delivery_id text PRIMARY KEY, event text NOT NULL, payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now())`);
  const app = Fastify({ logger: false, bodyLimit: 26_214_400 });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/github/webhooks', async (request, reply) => {
    const body = request.body as Buffer;
    if (!verifySignature(body, request.headers['x-hub-signature-256'])) {
      return reply.code(401).send({ error: 'bad signature' });
    }
    await pool.query(
      'INSERT INTO bench_deliveries (delivery_id, event, payload) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [
        request.headers['x-github-delivery'],
        request.headers['x-github-event'],
        body.toString('utf8'),
      ],
    );
    return reply.code(202).send({ accepted: true });
  });
  app.get('/health/ready', async () => ({ status: 'ok' }));
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
}

void main();
