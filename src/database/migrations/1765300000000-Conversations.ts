import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Replies in Flowdock threads become GitHub comments ("conversations both
 * ways"): Flowdock's own id of each bridge thread (learnt from the first
 * post), a token per source that can read its flow's stream, and per flow the
 * stream's lease (one replica listens) and cursor (Last-Event-ID). Every
 * reply heard is recorded once by its Flowdock message id (a replayed event
 * never posts twice); unlinked repliers get one notice per thread.
 */
export class Conversations1765300000000 implements MigrationInterface {
  name = 'Conversations1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "flowdock_thread" ADD "flowdock_thread_id" text`);
    await queryRunner.query(
      `CREATE INDEX "flowdock_thread_flowdock_thread_id" ON "flowdock_thread" ("flowdock_thread_id")
       WHERE "flowdock_thread_id" IS NOT NULL`,
    );
    await queryRunner.query(`
      ALTER TABLE "flowdock_source"
        ADD "stream_token_encrypted" text,
        ADD "stream_refresh_token_encrypted" text,
        ADD "stream_token_expires_at" timestamptz,
        ADD "stream_refused_at" timestamptz,
        ADD "stream_refused_reason" text`);
    await queryRunner.query(`
      CREATE TABLE "flowdock_stream" (
        "flow" text PRIMARY KEY,
        "last_event_id" text,
        "lease_owner" text,
        "lease_until" timestamptz,
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE "flowdock_reply" (
        "flow" text NOT NULL,
        "message_id" text NOT NULL,
        "thread_id" bigint NOT NULL REFERENCES "flowdock_thread" ("id") ON DELETE CASCADE,
        "flowdock_user_id" text NOT NULL,
        "outcome" text NOT NULL,
        "content" text,
        "comment_id" bigint,
        "reason" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("flow", "message_id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "flowdock_reply_awaiting_link" ON "flowdock_reply" ("flowdock_user_id")
       WHERE "outcome" = 'awaiting-link'`,
    );
    await queryRunner.query(`
      CREATE TABLE "flowdock_reply_notice" (
        "thread_id" bigint NOT NULL REFERENCES "flowdock_thread" ("id") ON DELETE CASCADE,
        "flowdock_user_id" text NOT NULL,
        "posted_at" timestamptz NOT NULL DEFAULT now(),
        "link_expires_at" timestamptz NOT NULL,
        PRIMARY KEY ("thread_id", "flowdock_user_id")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "flowdock_reply_notice"`);
    await queryRunner.query(`DROP TABLE "flowdock_reply"`);
    await queryRunner.query(`DROP TABLE "flowdock_stream"`);
    await queryRunner.query(`
      ALTER TABLE "flowdock_source"
        DROP "stream_token_encrypted",
        DROP "stream_refresh_token_encrypted",
        DROP "stream_token_expires_at",
        DROP "stream_refused_at",
        DROP "stream_refused_reason"`);
    await queryRunner.query(`DROP INDEX "flowdock_thread_flowdock_thread_id"`);
    await queryRunner.query(`ALTER TABLE "flowdock_thread" DROP "flowdock_thread_id"`);
  }
}
