/** PostgreSQL's SQLSTATE for a transaction it chose to abort to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';
/** Attempts in all, before the deadlock is reported as the error it is. */
const ATTEMPTS = 3;

export const isDeadlock = (error: unknown): boolean =>
  (error as { code?: unknown } | null)?.code === DEADLOCK_DETECTED;

/**
 * Runs `work` (one statement, or one whole transaction) again when PostgreSQL
 * aborted it to break a deadlock: it was rolled back, so running it again is
 * the same as running it once. Two statements that lock several rows of a
 * table in different orders (a batch upsert and a batch update) can deadlock
 * now and then; the loser just goes again at once, a few times at most.
 */
export async function retryOnDeadlock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isDeadlock(error) || attempt >= ATTEMPTS) throw error;
    }
  }
}
