import { DataSource } from 'typeorm';

/**
 * Waits until the bridge has recorded at least `count` webhook deliveries for
 * `repository` (the simulator emits them after the change it answered), or throws.
 */
export async function deliveriesSettled(
  db: DataSource,
  repository: string,
  count: number,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const rows = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM github_webhook_delivery WHERE repository = $1`,
      [repository],
    );
    if (rows[0].n >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${count} deliveries for ${repository}`);
}
