import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `flowdock_thread.due_at`: when the thread's oldest pending message may be
 * sent (NULL: nothing pending). The delivery worker leases threads by it
 * through a small partial index, so leasing costs what is due, not how many
 * threads or pending messages exist.
 *
 * The snapshot moves out of line (TOAST) even when small, so the worker's
 * frequent lease updates rewrite a narrow row, not the thread's whole state;
 * the free space per page lets those updates stay on their page (HOT). The
 * queue tables are vacuumed often.
 */
export class FlowdockDueThreads1764800000001 implements MigrationInterface {
  name = 'FlowdockDueThreads1764800000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "flowdock_thread" ADD COLUMN "due_at" timestamptz`);
    await queryRunner.query(`
      UPDATE "flowdock_thread" t SET "due_at" = head."available_at"
      FROM (SELECT DISTINCT ON ("thread_id") "thread_id", "available_at" FROM "flowdock_message"
            WHERE "status" = 'pending' ORDER BY "thread_id", "id") head
      WHERE head."thread_id" = t."id"`);
    await queryRunner.query(
      `CREATE INDEX "flowdock_thread_due" ON "flowdock_thread" ("due_at") WHERE "due_at" IS NOT NULL`,
    );
    await queryRunner.query(
      `ALTER TABLE "flowdock_thread" SET (toast_tuple_target = 128, fillfactor = 80)`,
    );
    // Queue tables: every row is updated soon after it is written. Vacuum them after a
    // thousand dead rows, not a fifth of the table, so their indexes stay small.
    for (const table of ['github_webhook_delivery', 'flowdock_message', 'flowdock_thread']) {
      await queryRunner.query(
        `ALTER TABLE "${table}" SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
           autovacuum_analyze_scale_factor = 0.02)`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['github_webhook_delivery', 'flowdock_message', 'flowdock_thread']) {
      await queryRunner.query(
        `ALTER TABLE "${table}" RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
           autovacuum_analyze_scale_factor)`,
      );
    }
    await queryRunner.query(`ALTER TABLE "flowdock_thread" RESET (toast_tuple_target, fillfactor)`);
    await queryRunner.query(`DROP INDEX "flowdock_thread_due"`);
    await queryRunner.query(`ALTER TABLE "flowdock_thread" DROP COLUMN "due_at"`);
  }
}
