import { setTimeout as delay } from 'node:timers/promises';
import { PostgresCluster } from './postgres-cluster';
import { removeStalePostmaster } from './postmaster-pid';
import { isRunning } from './processes';

const CHECK_INTERVAL_MS = 1_000;
/** Restarts allowed within RESTART_WINDOW_MS; one more death and the bridge gives up. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 5 * 60_000;
/** Attempts of one restart (the port or the old shared memory may still be held for a moment). */
const ATTEMPT_DELAYS_MS = [0, 250, 500, 1_000, 2_000, 4_000, 8_000];

/**
 * Watches the bridge's embedded server and restarts it when it dies (killed,
 * out of memory), on the same port, so the pool reconnects by itself; until
 * then readiness answers 503. A server that dies more than MAX_RESTARTS times
 * within 5 minutes, or cannot be restarted, is not retried: `onGiveUp` ends the
 * bridge with a clear message (a process manager then sees the failure).
 */
export class ServerSupervisor {
  private readonly timer: NodeJS.Timeout;
  private deaths: number[] = [];
  private restarting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly cluster: PostgresCluster,
    private readonly port: number,
    private readonly settings: Record<string, string>,
    private pid: number,
    private readonly log: (line: string) => void,
    private readonly onGiveUp: (error: Error) => void,
  ) {
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops watching (the server is about to be stopped on purpose); waits for a restart under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.restarting;
  }

  private check(): void {
    if (this.stopped || this.restarting || isRunning(this.pid)) return;
    this.restarting = this.restart().finally(() => (this.restarting = undefined));
  }

  private async restart(): Promise<void> {
    const now = Date.now();
    this.deaths = [...this.deaths.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (this.deaths.length > MAX_RESTARTS) {
      return this.giveUp(
        `The embedded PostgreSQL server stopped unexpectedly ${this.deaths.length} times within ` +
          `5 minutes; the bridge does not restart it again. See ${this.cluster.log}.`,
      );
    }
    this.log(
      `The embedded PostgreSQL server (pid ${this.pid}) stopped unexpectedly; restarting it on ` +
        `port ${this.port} (restart ${this.deaths.length} of at most ${MAX_RESTARTS} in 5 minutes; ` +
        `see ${this.cluster.log})`,
    );
    let failure: Error | undefined;
    for (const wait of ATTEMPT_DELAYS_MS) {
      await delay(wait);
      if (this.stopped) return;
      try {
        removeStalePostmaster(this.cluster.pgdata);
        await this.cluster.start(this.port, this.settings);
        this.pid = this.cluster.postmaster()?.pid ?? this.pid;
        this.log(`The embedded PostgreSQL server runs again (pid ${this.pid})`);
        return;
      } catch (error) {
        failure = error as Error;
      }
    }
    this.giveUp(
      `The embedded PostgreSQL server stopped unexpectedly and could not be restarted on port ` +
        `${this.port}: ${failure?.message}`,
    );
  }

  private giveUp(message: string): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.onGiveUp(new Error(message));
  }
}
