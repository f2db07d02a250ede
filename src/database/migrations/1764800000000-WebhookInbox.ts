import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GitHub deliveries become an inbox: the webhook request stores the delivery
 * (the few fields processing needs, as JSON text in `work`) and answers; the
 * processor applies pending rows per thread in arrival order (`seq`) and
 * records the outcome. `processed_at IS NULL` marks a pending row; the row is
 * kept as the delivery's log entry (without `work`) until the retention prunes it.
 *
 * Statement-level triggers NOTIFY the processor and the delivery worker of
 * every replica when work arrives (cheap: one notification per statement,
 * collapsed per transaction).
 */
export class WebhookInbox1764800000000 implements MigrationInterface {
  name = 'WebhookInbox1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "github_webhook_delivery"
        ADD COLUMN "seq" bigserial,
        ADD COLUMN "item_kind" text CHECK ("item_kind" IN ('pull', 'issue')),
        ADD COLUMN "item_number" integer,
        ADD COLUMN "work" text,
        ADD COLUMN "reason" text,
        ADD COLUMN "processed_at" timestamptz,
        ALTER COLUMN "outcome" DROP NOT NULL`);
    await queryRunner.query(
      `UPDATE "github_webhook_delivery" SET "processed_at" = "received_at" WHERE "processed_at" IS NULL`,
    );
    await queryRunner.query(`DROP INDEX "github_webhook_delivery_received_at"`);
    // For the retention only; partial, so pending rows (NULL) never use it.
    await queryRunner.query(
      `CREATE INDEX "github_webhook_delivery_processed_at" ON "github_webhook_delivery" ("processed_at")
       WHERE "processed_at" IS NOT NULL`,
    );
    // Pending rows, oldest first: where the processor looks for threads to work on, and for
    // deliveries without a thread yet (CI signals, revocations).
    await queryRunner.query(
      `CREATE INDEX "github_webhook_delivery_pending" ON "github_webhook_delivery" ("seq")
       WHERE "processed_at" IS NULL AND "item_number" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "github_webhook_delivery_pending_loose" ON "github_webhook_delivery" ("seq")
       WHERE "processed_at" IS NULL AND "item_number" IS NULL`,
    );
    // Pending rows of one thread (and of one repository, for CI events waiting their turn).
    await queryRunner.query(
      `CREATE INDEX "github_webhook_delivery_pending_item" ON "github_webhook_delivery"
       ("repository", "item_kind", "item_number", "seq") WHERE "processed_at" IS NULL`,
    );
    await queryRunner.query(`
      CREATE FUNCTION "bridge_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify(TG_ARGV[0], '');
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "github_webhook_delivery_notify" AFTER INSERT ON "github_webhook_delivery"
      FOR EACH STATEMENT EXECUTE FUNCTION "bridge_notify"('github_inbox')`);
    await queryRunner.query(`
      CREATE TRIGGER "flowdock_message_notify" AFTER INSERT ON "flowdock_message"
      FOR EACH STATEMENT EXECUTE FUNCTION "bridge_notify"('flowdock_outbox')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "flowdock_message_notify" ON "flowdock_message"`);
    await queryRunner.query(
      `DROP TRIGGER "github_webhook_delivery_notify" ON "github_webhook_delivery"`,
    );
    await queryRunner.query(`DROP FUNCTION "bridge_notify"()`);
    await queryRunner.query(`DROP INDEX "github_webhook_delivery_pending_item"`);
    await queryRunner.query(`DROP INDEX "github_webhook_delivery_pending_loose"`);
    await queryRunner.query(`DROP INDEX "github_webhook_delivery_pending"`);
    await queryRunner.query(`DROP INDEX "github_webhook_delivery_processed_at"`);
    await queryRunner.query(
      `CREATE INDEX "github_webhook_delivery_received_at" ON "github_webhook_delivery" ("received_at")`,
    );
    await queryRunner.query(`DELETE FROM "github_webhook_delivery" WHERE "outcome" IS NULL`);
    await queryRunner.query(`
      ALTER TABLE "github_webhook_delivery"
        ALTER COLUMN "outcome" SET NOT NULL,
        DROP COLUMN "processed_at",
        DROP COLUMN "reason",
        DROP COLUMN "work",
        DROP COLUMN "item_number",
        DROP COLUMN "item_kind",
        DROP COLUMN "seq"`);
  }
}
