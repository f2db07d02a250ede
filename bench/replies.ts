import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchWorld } from './bench-world';
import { quantile } from './measure';

const REPLIES = Number(process.env.BENCH_REPLIES ?? 100);
/** A reply not at GitHub after this long counts as lost. */
const TIMEOUT_MS = 10_000;

export interface ReplyFigures {
  replies: number;
  /** Replies that became a GitHub comment (the rest: lost within 10 s). */
  commented: number;
  /** Reply sent to Flowdock → the comment's request at GitHub, ms. */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/**
 * Thread replies of linked users, one at a time, as they type them in
 * Flowdock: each is posted to the Flowdock simulator into a thread the bridge
 * made (the actions section made them), and timed until the bridge's comment
 * request for it reaches the GitHub simulator. The world must hear replies
 * (`startBenchWorld(…, { hearReplies: true })`).
 */
export class ReplyBench {
  constructor(private readonly world: BenchWorld) {}

  async run(): Promise<ReplyFigures> {
    const { state } = this.world.flowdock;
    const threads = [...state.threads.values()].filter(
      (t) => t.sourceId === this.world.source.id && t.externalThreadId.includes(':pull:'),
    );
    if (threads.length === 0) throw new Error('no thread of the bridge to reply in');
    const deadline = performance.now() + TIMEOUT_MS;
    while (state.openStreams === 0) {
      if (performance.now() > deadline) throw new Error('the bridge does not listen to the flow');
      await sleep(50);
    }
    const times: number[] = [];
    for (let i = 0; i < REPLIES; i++) {
      const user = i % this.world.users.length;
      const content = `reply ${i} from the bench, ${Date.now().toString(36)}`;
      const sent = performance.now();
      const response = await fetch(`${this.world.flowdock.url}/flows/${this.world.flow}/messages`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.world.flowdockTokens[user]}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          event: 'message',
          content,
          thread_id: threads[i % threads.length].id,
        }),
      });
      if (!response.ok)
        throw new Error(`posting a reply: ${response.status} ${await response.text()}`);
      let arrived: number | undefined;
      while ((arrived = this.world.commentArrivedAt(content)) === undefined) {
        if (performance.now() - sent > TIMEOUT_MS) break;
        await sleep(1);
      }
      if (arrived !== undefined) times.push(arrived - sent);
    }
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      replies: REPLIES,
      commented: times.length,
      p50Ms: times.length ? round(quantile(times, 0.5)) : null,
      p99Ms: times.length ? round(quantile(times, 0.99)) : null,
      maxMs: times.length ? round(Math.max(...times)) : null,
    };
  }
}
