/**
 * What verifying a Flowdock UpdateAction request costs:
 * 1. FlowdockActionVerifier.verify() alone (JWT HS256, SHA-256 of the body,
 *    URL binding) — CPU per request;
 * 2. the whole guard through HTTP (app.inject), including the replay record
 *    in PostgreSQL — per request, sequential.
 *
 *   npm run bench:flowdock-guard        (needs a PostgreSQL server: BENCH_DATABASE_URL)
 */
import { Controller, HttpCode, Module, Post } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { signActionRequest } from '../sandbox/flowdock/flowdock-action-signer';
import { createApp } from '../src/app.factory';
import { AppConfig, loadConfig } from '../src/config/app.config';
import { SignedFlowdockAction } from '../src/actions/signed-flowdock-action.decorator';
import { FlowdockActionVerifier } from '../src/actions/flowdock-action.verifier';
import { FlowdockModule } from '../src/flowdock/flowdock.module';
import { benchDatabase, benchEnvironment } from './bench-setup';

// Its own route: the real endpoint (GitHub module) owns /flowdock/actions.
@Controller('bench/flowdock/actions')
class BenchController {
  @Post(':owner/:repo/:kind/:number/:action')
  @HttpCode(204)
  @SignedFlowdockAction()
  act(): void {}
}

@Module({ imports: [FlowdockModule], controllers: [BenchController] })
class BenchModule {}

async function main(): Promise<void> {
  const db = await benchDatabase();
  const env = benchEnvironment(db.url, mkdtempSync(join(tmpdir(), 'bench-guard-')));
  const { config } = loadConfig(env);
  const secret = config.flowdock.clientSecret;
  const verifier = new FlowdockActionVerifier(
    new JwtService({}),
    new ConfigService<AppConfig, true>(config),
  );

  const N = 20_000;
  const path = '/bench/flowdock/actions/acme/widgets/pulls/1/close';
  const requests = Array.from({ length: N }, (_, i) =>
    signActionRequest(
      { name: 'Close', urlTemplate: config.publicUrl + path },
      { clientSecret: secret, userId: 1000 + i },
    ),
  );
  for (const r of requests.slice(0, 1000)) {
    verifier.verify({ token: r.headers['flowdock-token'], rawBody: Buffer.from(r.payload), path });
  }
  let start = performance.now();
  for (const r of requests) {
    verifier.verify({ token: r.headers['flowdock-token'], rawBody: Buffer.from(r.payload), path });
  }
  const verifyUs = ((performance.now() - start) * 1000) / N;

  const app = await createApp(config, { imports: [BenchModule] });
  await app.init();
  const M = 2_000;
  const httpRequests = Array.from({ length: M }, (_, i) =>
    signActionRequest(
      { name: 'Close', urlTemplate: config.publicUrl + path },
      { clientSecret: secret, userId: 5000 + i },
    ),
  );
  for (const r of httpRequests.slice(0, 200)) {
    await app.inject({ method: 'POST', url: path, headers: r.headers, payload: r.payload });
  }
  start = performance.now();
  let ok = 0;
  for (const r of httpRequests.slice(200)) {
    const res = await app.inject({
      method: 'POST',
      url: path,
      headers: r.headers,
      payload: r.payload,
    });
    if (res.statusCode === 204) ok++;
  }
  const httpMs = (performance.now() - start) / (M - 200);
  const replay = httpRequests[300];
  const replayStatus = (
    await app.inject({
      method: 'POST',
      url: path,
      headers: replay.headers,
      payload: replay.payload,
    })
  ).statusCode;
  await app.close();
  await db.drop();

  console.log(`verify() alone: ${verifyUs.toFixed(1)} µs per request (${N} requests)`);
  console.log(
    `guarded HTTP request incl. replay record: ${httpMs.toFixed(2)} ms per request ` +
      `(${M - 200} sequential, ${ok} accepted; a replay answered ${replayStatus})`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
