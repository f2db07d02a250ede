import { ConfigService } from '@nestjs/config';
import { once } from 'node:events';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppConfig } from '../config/app.config';
import { GitHubOctokitFactory, isGitHubTimeout } from './github-octokit.factory';

/** A loopback stand-in for GitHub's REST API: records what arrives, answers per path. */
async function fakeGitHub(): Promise<{ server: Server; url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    req.on('end', () => {
      if (req.url === '/repos/old/name/issues/5') {
        res.writeHead(307, { location: '/repos/new/name/issues/5' }).end();
      } else if (req.url === '/repos/new/name/issues/5') {
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.setHeader('x-ratelimit-remaining', '4999');
        res.end(JSON.stringify({ number: 5, state: 'closed' }));
      } else if (req.url?.startsWith('/slow')) {
        setTimeout(() => res.end('{}'), 2_000).unref();
      } else {
        res.writeHead(204).end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('GitHubOctokitFactory', () => {
  let github: Awaited<ReturnType<typeof fakeGitHub>>;
  let factory: GitHubOctokitFactory;

  beforeAll(async () => {
    github = await fakeGitHub();
    factory = new GitHubOctokitFactory(
      new ConfigService<AppConfig, true>({
        github: { apiUrl: github.url, url: github.url, timeoutMs: 300 },
      }),
    );
  });
  afterAll(async () => {
    await factory.onApplicationShutdown();
    github.server.closeAllConnections();
    github.server.close();
  });

  it('follows a redirect with the same method and body, and gives Octokit the answer', async () => {
    const octokit = factory.forToken('gho_test');
    const { data, headers, status } = await octokit.rest.issues.update({
      owner: 'old',
      repo: 'name',
      issue_number: 5,
      state: 'closed',
    });
    expect(status).toBe(200);
    expect(data).toMatchObject({ number: 5, state: 'closed' });
    expect(headers['x-ratelimit-remaining']).toBe('4999');
    const [first, second] = github.seen.slice(-2);
    expect([first.method, first.url]).toEqual(['PATCH', '/repos/old/name/issues/5']);
    expect([second.method, second.url]).toEqual(['PATCH', '/repos/new/name/issues/5']);
    expect(second.headers.authorization).toBe('token gho_test');
    expect(second.headers['user-agent']).toMatch(/^flowdock-github-bridge/);
  });

  it('a 204 answer (which may carry no body) comes through', async () => {
    const { status, data } = await factory.forToken('gho_test').request('DELETE /nothing');
    expect(status).toBe(204);
    expect(data).toBe('');
  });

  it('gives up after GITHUB_TIMEOUT_MS, recognisably', async () => {
    const error: unknown = await factory
      .forToken('gho_test')
      .request('GET /slow')
      .catch((e: unknown) => e);
    expect(isGitHubTimeout(error)).toBe(true);
  });
});
