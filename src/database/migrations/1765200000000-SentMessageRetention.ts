import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sent Flowdock messages are kept as long as the delivery log keeps webhook
 * deliveries (DELIVERY_RETENTION_DAYS), then pruned: an index finds them by
 * when they were sent, so pruning costs what it removes.
 */
export class SentMessageRetention1765200000000 implements MigrationInterface {
  name = 'SentMessageRetention1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "flowdock_message_sent" ON "flowdock_message" ("sent_at") WHERE "status" = 'sent'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "flowdock_message_sent"`);
  }
}
