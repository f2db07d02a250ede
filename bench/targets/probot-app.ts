import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { createNodeMiddleware, createProbot } from 'probot';
import { WEBHOOK_SECRET } from '../fixtures';

/**
 * What a team would otherwise build: a Probot app that verifies the webhook
 * and posts a message about the pull request to a chat endpoint (SINK_URL).
 */
async function main() {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const probot = createProbot({
    overrides: { appId: 1, privateKey, secret: WEBHOOK_SECRET, logLevel: 'fatal' },
  });
  const sink = process.env.SINK_URL!;
  const middleware = await createNodeMiddleware(
    (app) => {
      app.on('pull_request', async (context) => {
        const pr = context.payload.pull_request;
        await fetch(sink, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            event: 'activity',
            title: `${context.payload.action} pull request`,
            external_thread_id: `github:${context.payload.repository.full_name}:pull:${pr.number}`,
            thread: { title: `#${pr.number} ${pr.title}`, external_url: pr.html_url },
          }),
        });
      });
    },
    { probot, webhooksPath: '/github/webhooks' },
  );
  const server = createServer((req, res) => {
    if (req.url === '/health/ready') return void res.end('{"status":"ok"}');
    void middleware(req, res, () => {
      res.statusCode = 404;
      res.end();
    });
  });
  server.listen(Number(process.env.PORT), '127.0.0.1');
}

void main();
