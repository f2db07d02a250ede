import { MigrationInterface, QueryRunner } from 'typeorm';

const PURPOSES = `'link-flowdock', 'link-github', 'account', 'flowdock-setup', 'flowdock-setup-form'`;

/**
 * The delivery log pages: their Flowdock sign-in (an OAuth state purpose),
 * who sent each GitHub delivery (its `sender.login`; null for rows stored
 * before), and indexes for reading one repository's deliveries and one item's
 * threads (names compare case-insensitively, as GitHub's do).
 */
export class DeliveryLog1765100000000 implements MigrationInterface {
  name = 'DeliveryLog1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "oauth_state" DROP CONSTRAINT "oauth_state_purpose_check"`,
    );
    await queryRunner.query(
      `ALTER TABLE "oauth_state" ADD CONSTRAINT "oauth_state_purpose_check"
       CHECK ("purpose" IN (${PURPOSES}, 'deliveries'))`,
    );
    await queryRunner.query(`ALTER TABLE "github_webhook_delivery" ADD COLUMN "sender" text`);
    await queryRunner.query(
      `CREATE INDEX "github_webhook_delivery_repository" ON "github_webhook_delivery" (lower("repository"), "seq")`,
    );
    await queryRunner.query(
      `CREATE INDEX "flowdock_thread_external_thread_id" ON "flowdock_thread" (lower("external_thread_id"))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "flowdock_thread_external_thread_id"`);
    await queryRunner.query(`DROP INDEX "github_webhook_delivery_repository"`);
    await queryRunner.query(`ALTER TABLE "github_webhook_delivery" DROP COLUMN "sender"`);
    await queryRunner.query(`DELETE FROM "oauth_state" WHERE "purpose" = 'deliveries'`);
    await queryRunner.query(
      `ALTER TABLE "oauth_state" DROP CONSTRAINT "oauth_state_purpose_check"`,
    );
    await queryRunner.query(
      `ALTER TABLE "oauth_state" ADD CONSTRAINT "oauth_state_purpose_check" CHECK ("purpose" IN (${PURPOSES}))`,
    );
  }
}
