interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for calls that each cost a database round trip: an item added
 * while the database is idle goes at once, alone; items added while earlier
 * batches are in flight wait and share the next one. Under load one statement
 * (and one commit) serves many callers; with no load nobody waits for a timer.
 * `write` gets a batch and returns one result per item, in order; if it
 * throws, every caller of that batch gets the error.
 */
export class GroupCommit<T, R> {
  private queue: Waiting<T, R>[] = [];
  private inFlight = 0;
  private unsettled = 0;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly limits: { maxBatch: number; maxInFlight: number },
  ) {}

  /** Callers whose item is not written yet: queued, or in a batch in flight. */
  get waiting(): number {
    return this.unsettled;
  }

  add(item: T): Promise<R> {
    this.unsettled++;
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.limits.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.limits.maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.next();
      });
    }
  }

  private async run(batch: Waiting<T, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.write(batch.map((w) => w.item));
    } catch (error) {
      this.unsettled -= batch.length;
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    this.unsettled -= batch.length;
    batch.forEach((waiting, i) => waiting.resolve(results[i]));
  }
}
