import { Injectable } from '@nestjs/common';

/** Webhook requests waiting for their answer at or above which ingest is under pressure. */
const PRESSURE_AT = 8;

/**
 * How many webhook requests are waiting for their answer. GitHub gives up on
 * a delivery after 10 s and does not send it again on its own, so while
 * webhooks queue up, the background work of this process (the processor's
 * passes) yields to them and catches up once the storm is over.
 */
@Injectable()
export class IngestPressure {
  private waiting = 0;

  /** Runs one request's work, counted as waiting until it settles. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.waiting += 1;
    try {
      return await work();
    } finally {
      this.waiting -= 1;
    }
  }

  get high(): boolean {
    return this.waiting >= PRESSURE_AT;
  }
}
