import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import {
  SignedBody,
  signedPullRequestOpened,
  signedPullRequests,
  WEBHOOK_SECRET,
} from './fixtures';

/**
 * The load generator, run as its own process so it does not share a CPU
 * thread with what it measures. Reads its job as JSON from argv[2] and prints
 * the result as one JSON line.
 *
 * Every request carries a fresh `X-GitHub-Delivery`. The bodies are built and
 * signed before the clock starts: one body (one pull request), or `pullRequests`
 * different pull requests taken in turn.
 *
 * When the duration ends, autocannon destroys its sockets with requests still
 * in flight: the target may have accepted them without the load generator
 * seeing an answer. With `resolveUnanswered`, each of those is sent again with
 * the same delivery id and body, as GitHub redelivers: a target that had
 * accepted it answers `duplicate`, one that had not accepts it now. Either
 * way it is accepted exactly once, so `accepted` is exact.
 */
export interface LoadJob {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Absent: every request on one pull request. */
  pullRequests?: number;
  /** The first pull request number when `pullRequests` is set. */
  firstNumber?: number;
  resolveUnanswered?: boolean;
}

export interface LoadResult {
  /** Responses received during the run (any status). */
  responses: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** 2xx other than `duplicate`, including the unanswered ones resolved afterwards. */
  accepted: number;
  /** 2xx `{"status":"duplicate"}` during the run: none are expected (every id is fresh). */
  duplicates: number;
  non2xx: number;
  timeouts: number;
  socketErrors: number;
  /** Requests in flight when the run stopped. */
  unanswered: number;
  /** Of those, sent again: accepted then, or already accepted (`duplicate`), or failed. */
  resolved: { acceptedNow: number; alreadyAccepted: number; failed: number };
  /** non2xx + timeouts + socket errors + failed resolutions + unexpected duplicates. */
  errors: number;
  statusCodes: Record<string, { count: number }>;
}

const isDuplicate = (body: string) => body.includes('"duplicate"');

async function main() {
  const job = JSON.parse(process.argv[2]) as LoadJob;
  const first = job.firstNumber ?? 1;
  const bodies: SignedBody[] = job.pullRequests
    ? signedPullRequests(
        Array.from({ length: job.pullRequests }, (_, i) => first + i),
        WEBHOOK_SECRET,
      )
    : [signedPullRequestOpened()];
  const headers = {
    'content-type': 'application/json',
    'x-github-event': 'pull_request',
    'user-agent': 'GitHub-Hookshot/bench',
  };
  /** Delivery id -> body index, from the request's setup to its answer. */
  const inFlight = new Map<string, number>();
  let next = 0;
  let accepted = 0;
  let duplicates = 0;

  const result = await autocannon({
    url: job.url,
    method: 'POST',
    connections: job.connections,
    duration: job.durationSeconds,
    timeout: 10,
    headers,
    requests: [
      {
        // With one request per connection at a time, the context is that request's until its answer.
        setupRequest: (request, context: { id?: string }) => {
          const index = next++ % bodies.length;
          const id = randomUUID();
          inFlight.set(id, index);
          context.id = id;
          return {
            ...request,
            body: bodies[index].body,
            headers: {
              ...request.headers,
              'x-github-delivery': id,
              'x-hub-signature-256': bodies[index].signature,
            },
          };
        },
        onResponse: (status, body, context: { id?: string }) => {
          if (context.id) inFlight.delete(context.id);
          if (status >= 200 && status < 300) {
            if (isDuplicate(body)) duplicates++;
            else accepted++;
          }
        },
      },
    ],
  });

  const unanswered = inFlight.size;
  const resolved = { acceptedNow: 0, alreadyAccepted: 0, failed: 0 };
  if (job.resolveUnanswered) {
    await Promise.all(
      [...inFlight].map(async ([id, index]) => {
        try {
          const response = await fetch(job.url, {
            method: 'POST',
            headers: {
              ...headers,
              'x-github-delivery': id,
              'x-hub-signature-256': bodies[index].signature,
            },
            body: bodies[index].body,
            signal: AbortSignal.timeout(30_000),
          });
          const text = await response.text();
          if (!response.ok) resolved.failed++;
          else if (isDuplicate(text)) resolved.alreadyAccepted++;
          else resolved.acceptedNow++;
        } catch {
          resolved.failed++;
        }
      }),
    );
  }
  const socketErrors = result.errors - result.timeouts;
  const out: LoadResult = {
    responses: result.requests.total,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    accepted: accepted + resolved.acceptedNow + resolved.alreadyAccepted,
    duplicates,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    socketErrors,
    unanswered,
    resolved,
    errors: result.non2xx + result.errors + resolved.failed + duplicates,
    statusCodes: result.statusCodeStats as unknown as Record<string, { count: number }>,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

void main();
