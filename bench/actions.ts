import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { request } from 'undici';
import { signActionRequest } from '../sandbox/flowdock/flowdock-action-signer';
import { AppConfig, loadConfig } from '../src/config/app.config';
import { FlowdockActionVerifier } from '../src/actions/flowdock-action.verifier';
import type { BenchWorld } from './bench-world';
import { quantile } from './measure';

const SEQUENTIAL = Number(process.env.BENCH_ACTIONS ?? 1000);
const CONCURRENT_SECONDS = Number(process.env.BENCH_ACTION_SECONDS ?? 5);
const CONCURRENCY = 10;
/**
 * Clicks before the measured ones, not timed, followed by the concurrent
 * phase's (about 1,500): V8 optimizes the action path, Octokit and the
 * simulators over the first thousand or so calls (measured: p50 10 ms over the
 * first 300 clicks, 7 ms from the 600th on; p99 after 300 clicks 8.8–10.0 ms,
 * after 2,000 6.2–8.3 ms), and the bench reports a bridge that has been up for
 * a while.
 */
const WARM_UP_CLICKS = 300;
const VERIFICATIONS = 5_000;

export interface ActionFigures {
  sequential: number;
  /** Request to response at the bridge, ms (one at a time). */
  totalP50Ms: number;
  totalP99Ms: number;
  /** The GitHub simulator's own handling time for the same requests, ms. */
  githubP50Ms: number;
  githubP99Ms: number;
  /** The bridge's GitHub call, Octokit's building and parsing included (its Server-Timing header), ms. */
  githubWaitP50Ms: number;
  githubWaitP99Ms: number;
  /** Total minus the bridge's GitHub call: what the bridge spends around it, ms. */
  bridgeP50Ms: number;
  bridgeP99Ms: number;
  /** The bridge's own time as it measures it (Server-Timing `bridge`): from Fastify's routing of the request to the answer, without its GitHub call, ms. */
  bridgeInsideP50Ms: number;
  bridgeInsideP99Ms: number;
  /** Total minus the simulator's handling time (the definition before the Server-Timing header), ms. */
  bridgeWithGitHubHopP50Ms: number;
  bridgeWithGitHubHopP99Ms: number;
  concurrency: number;
  requestsPerSecond: number;
  /** FlowdockActionVerifier.verify() alone (JWT HS256, body hash, URL binding), µs. */
  guardVerifyMicros: number;
}

export type ItemAction = 'assign-to-me' | 'unassign-me';

/** A click as Flowdock sends it: the path, and the signed request's headers and body. */
interface SignedClick {
  path: string;
  headers: Record<string, string>;
  payload: string;
}

/**
 * The signed UpdateAction request Flowdock sends when linked user `user` (an
 * index into world.users) clicks `action` on pull request `number` of the
 * world's repository; `agent` names the click (a distinct name makes a
 * distinct token).
 */
function signClick(
  world: BenchWorld,
  user: number,
  number: number,
  action: ItemAction,
  agent: string,
): SignedClick {
  const path = `/flowdock/actions/${world.repository}/pulls/${number}/${action}`;
  const signed = signActionRequest(
    { name: action, urlTemplate: world.env.PUBLIC_URL + path, agent: { name: agent } },
    { clientSecret: world.env.FLOWDOCK_CLIENT_SECRET, userId: world.users[user] },
  );
  return { path, headers: signed.headers, payload: signed.payload };
}

/**
 * Sends a signed click; resolves with the bridge's answer and its
 * Server-Timing (its wait for GitHub, and its own time without that wait).
 * Network errors reject.
 */
async function sendClick(
  world: BenchWorld,
  { path, headers, payload }: SignedClick,
  signal?: AbortSignal,
): Promise<{
  status: number;
  text: string;
  path: string;
  githubWaitMs?: number;
  bridgeOwnMs?: number;
}> {
  // undici's request(), not fetch: fetch costs the bench process ~0.3 ms per call at p50 and
  // ~5 ms at p99 (its garbage), which would be counted as the bridge's time.
  const response = await request(world.url + path, {
    method: 'POST',
    headers,
    body: payload,
    signal,
  });
  const serverTiming = String(response.headers['server-timing'] ?? '');
  const github = /github;dur=([0-9.]+)/.exec(serverTiming);
  const own = /bridge;dur=([0-9.]+)/.exec(serverTiming);
  return {
    status: response.statusCode,
    text: await response.body.text(),
    path,
    githubWaitMs: github ? Number(github[1]) : undefined,
    bridgeOwnMs: own ? Number(own[1]) : undefined,
  };
}

/** signClick() and sendClick() in one. */
export const sendAction = (
  world: BenchWorld,
  user: number,
  number: number,
  action: ItemAction,
  agent: string,
  signal?: AbortSignal,
) => sendClick(world, signClick(world, user, number, action, agent), signal);

/**
 * Signed UpdateAction requests (assign-to-me / unassign-me, alternating per
 * pull request) from linked users, as Flowdock sends them when a user clicks.
 */
export class ActionBench {
  private sent = 0;
  private readonly clicks = new Map<number, number>();

  constructor(private readonly world: BenchWorld) {}

  async run(): Promise<ActionFigures> {
    for (let i = 0; i < WARM_UP_CLICKS; i++) await this.act(i % 10, 100 + (i % 10));
    // Throughput first: its clicks also warm the bridge up for the timed ones.
    const requestsPerSecond = await this.concurrent();
    const total: number[] = [];
    const github: number[] = [];
    const waited: number[] = [];
    const inside: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      // Signed before the clock starts: signing is Flowdock's work, not the bridge's.
      const click = this.click(i % this.world.users.length, 1 + (i % 50));
      const busyBefore = this.world.githubBusyMs();
      const started = performance.now();
      const { githubWaitMs, bridgeOwnMs } = await this.send(click);
      total.push(performance.now() - started);
      github.push(this.world.githubBusyMs() - busyBefore);
      if (githubWaitMs === undefined || bridgeOwnMs === undefined)
        throw new Error('an action answered without its Server-Timing');
      waited.push(githubWaitMs);
      inside.push(bridgeOwnMs);
    }
    const bridge = total.map((t, i) => t - waited[i]);
    const withHop = total.map((t, i) => t - github[i]);

    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      sequential: SEQUENTIAL,
      totalP50Ms: round(quantile(total, 0.5)),
      totalP99Ms: round(quantile(total, 0.99)),
      githubP50Ms: round(quantile(github, 0.5)),
      githubP99Ms: round(quantile(github, 0.99)),
      githubWaitP50Ms: round(quantile(waited, 0.5)),
      githubWaitP99Ms: round(quantile(waited, 0.99)),
      bridgeP50Ms: round(quantile(bridge, 0.5)),
      bridgeP99Ms: round(quantile(bridge, 0.99)),
      bridgeInsideP50Ms: round(quantile(inside, 0.5)),
      bridgeInsideP99Ms: round(quantile(inside, 0.99)),
      bridgeWithGitHubHopP50Ms: round(quantile(withHop, 0.5)),
      bridgeWithGitHubHopP99Ms: round(quantile(withHop, 0.99)),
      concurrency: CONCURRENCY,
      requestsPerSecond,
      guardVerifyMicros: round(this.verifyCost()),
    };
  }

  /** CONCURRENCY clicks at a time for CONCURRENT_SECONDS; clicks per second. */
  private async concurrent(): Promise<number> {
    let done = 0;
    const deadline = performance.now() + CONCURRENT_SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        // Each worker its own pull request, so that concurrent actions never race on one item.
        while (performance.now() < deadline && done < 100_000) {
          await this.act(worker % this.world.users.length, 60 + worker);
          done++;
        }
      }),
    );
    return Math.round((done / (performance.now() - started)) * 1000);
  }

  /** The next click on pull request `number`: assign-to-me and unassign-me in turn. */
  private click(user: number, number: number): SignedClick {
    const clicks = this.clicks.get(number) ?? 0;
    this.clicks.set(number, clicks + 1);
    const action = clicks % 2 === 0 ? 'assign-to-me' : 'unassign-me';
    // A distinct agent name per request: every token differs, as real clicks' do.
    return signClick(this.world, user, number, action, `bench ${this.sent++}`);
  }

  /** Sends a click; it must succeed. */
  private async send(click: SignedClick) {
    const answer = await sendClick(this.world, click);
    if (answer.status !== 200)
      throw new Error(
        `action ${answer.path}: the bridge answered ${answer.status}: ${answer.text}`,
      );
    return answer;
  }

  private act = (user: number, number: number) => this.send(this.click(user, number));

  private verifyCost(): number {
    const { config } = loadConfig({ ...this.world.env, NODE_ENV: 'test' });
    const verifier = new FlowdockActionVerifier(
      new JwtService({}),
      new ConfigService<AppConfig, true>(config),
    );
    const path = `/flowdock/actions/${this.world.repository}/pulls/1/close`;
    const requests = Array.from({ length: VERIFICATIONS }, (_, i) =>
      signActionRequest(
        { name: 'Close', urlTemplate: config.publicUrl + path },
        { clientSecret: config.flowdock.clientSecret, userId: 1000 + i },
      ),
    );
    const verify = (r: (typeof requests)[number]) =>
      verifier.verify({
        token: r.headers['flowdock-token'],
        rawBody: Buffer.from(r.payload),
        path,
      });
    requests.slice(0, 500).forEach(verify);
    const started = performance.now();
    requests.forEach(verify);
    return ((performance.now() - started) * 1000) / VERIFICATIONS;
  }
}
