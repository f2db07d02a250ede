import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';

/**
 * The load generator, run as its own process so it does not share a CPU
 * thread with what it measures. Reads its job as JSON from argv[2] and prints
 * the result as one JSON line.
 */
interface Job {
  url: string;
  connections: number;
  durationSeconds: number;
  body: string;
  headers: Record<string, string>;
}

async function main() {
  const job = JSON.parse(process.argv[2]) as Job;
  const result = await autocannon({
    url: job.url,
    method: 'POST',
    connections: job.connections,
    duration: job.durationSeconds,
    timeout: 10,
    headers: job.headers,
    body: job.body,
    requests: [
      {
        // Every delivery is distinct, as GitHub's are.
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'x-github-delivery': randomUUID() },
        }),
      },
    ],
  });
  process.stdout.write(
    JSON.stringify({
      requests: result.requests.total,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      errors: result.errors + result.timeouts + result.non2xx,
      statusCodes: result.statusCodeStats,
    }) + '\n',
  );
}

void main();
