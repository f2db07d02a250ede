import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Flowdock delivery: sources (flows we post to, flow token encrypted), the
 * newest snapshot per thread, and the transactional outbox of messages with
 * their delivery state (pending, sent, dead with a reason).
 */
export class FlowdockDelivery1764400000001 implements MigrationInterface {
  name = 'FlowdockDelivery1764400000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "flowdock_source" (
        "id" uuid PRIMARY KEY,
        "flow_token_encrypted" text NOT NULL,
        "flow_token_hash" text NOT NULL UNIQUE,
        "flow" text,
        "name" text,
        "disabled_at" timestamptz,
        "disabled_reason" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE "flowdock_thread" (
        "id" bigserial PRIMARY KEY,
        "source_id" uuid NOT NULL REFERENCES "flowdock_source" ("id") ON DELETE CASCADE,
        "external_thread_id" text NOT NULL,
        "snapshot" jsonb NOT NULL,
        "version" integer NOT NULL DEFAULT 1,
        "lease_owner" text,
        "lease_until" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        UNIQUE ("source_id", "external_thread_id")
      )`);
    await queryRunner.query(`
      CREATE TABLE "flowdock_message" (
        "id" bigserial PRIMARY KEY,
        "uuid" uuid NOT NULL UNIQUE,
        "thread_id" bigint NOT NULL REFERENCES "flowdock_thread" ("id") ON DELETE CASCADE,
        "event" jsonb NOT NULL,
        "status" text NOT NULL DEFAULT 'pending' CHECK ("status" IN ('pending', 'sent', 'dead')),
        "attempts" integer NOT NULL DEFAULT 0,
        "available_at" timestamptz NOT NULL DEFAULT now(),
        "last_error" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "sent_at" timestamptz,
        "dead_at" timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX "flowdock_message_pending" ON "flowdock_message" ("thread_id", "id") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX "flowdock_message_dead" ON "flowdock_message" ("dead_at") WHERE "status" = 'dead'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "flowdock_message"`);
    await queryRunner.query(`DROP TABLE "flowdock_thread"`);
    await queryRunner.query(`DROP TABLE "flowdock_source"`);
  }
}
