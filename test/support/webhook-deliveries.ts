import { DataSource } from 'typeorm';

export interface DeliveryOutcomeRow {
  outcome: string;
  reason: string | null;
  messages: number;
}

/** Polls `check` every 20 ms until it returns a value, or throws after `timeoutMs` (a hung bridge, not a speed limit). */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The outcome of a webhook delivery once the processor has applied it (the
 * webhook's 202 only says it was stored).
 */
export function outcomeOf(db: DataSource, deliveryId: string): Promise<DeliveryOutcomeRow> {
  return until(`the outcome of delivery ${deliveryId}`, async () => {
    const [row] = await db.query<(DeliveryOutcomeRow & { processed: boolean })[]>(
      `SELECT outcome, reason, messages, processed_at IS NOT NULL AS processed
       FROM github_webhook_delivery WHERE delivery_id = $1`,
      [deliveryId],
    );
    if (!row?.processed) return undefined;
    return { outcome: row.outcome, reason: row.reason, messages: row.messages };
  });
}

/**
 * Waits until the bridge has processed at least `count` webhook deliveries for
 * `repository` (the simulator emits them after the change it answered).
 */
export async function deliveriesSettled(
  db: DataSource,
  repository: string,
  count: number,
): Promise<void> {
  await until(`${count} processed deliveries for ${repository}`, async () => {
    const [row] = await db.query<{ done: number; pending: number }[]>(
      `SELECT count(*) FILTER (WHERE processed_at IS NOT NULL)::int AS done,
              count(*) FILTER (WHERE processed_at IS NULL)::int AS pending
       FROM github_webhook_delivery WHERE repository = $1`,
      [repository],
    );
    return row.done >= count && row.pending === 0 ? true : undefined;
  });
}
