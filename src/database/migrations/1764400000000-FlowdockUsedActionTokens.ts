import { MigrationInterface, QueryRunner } from 'typeorm';

/** FLOWDOCK-TOKENs already accepted, so a replay is refused on every replica. */
export class FlowdockUsedActionTokens1764400000000 implements MigrationInterface {
  name = 'FlowdockUsedActionTokens1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "flowdock_used_action_token" (
        "token_hash" text PRIMARY KEY,
        "expires_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "flowdock_used_action_token_expires_at" ON "flowdock_used_action_token" ("expires_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "flowdock_used_action_token"`);
  }
}
