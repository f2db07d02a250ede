import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Account linking: the link from a Flowdock user to a GitHub account with its
 * encrypted tokens, the one-use OAuth states of sign-ins in progress, and the
 * claims already spent.
 */
export class AuthLinks1764500000000 implements MigrationInterface {
  name = 'AuthLinks1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "linked_account" (
        "flowdock_user_id" text PRIMARY KEY,
        "github_user_id" bigint NOT NULL,
        "github_login" text NOT NULL,
        "access_token" text NOT NULL,
        "access_token_expires_at" timestamptz,
        "refresh_token" text,
        "refresh_token_expires_at" timestamptz,
        "scopes" text NOT NULL DEFAULT '',
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX "linked_account_github_user_id" ON "linked_account" ("github_user_id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "oauth_state" (
        "state_hash" text PRIMARY KEY,
        "purpose" text NOT NULL CHECK ("purpose" IN ('link-flowdock', 'link-github', 'account')),
        "flowdock_user_id" text,
        "claim_jti" uuid,
        "code_verifier" text,
        "expires_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX "oauth_state_expires_at" ON "oauth_state" ("expires_at")`,
    );
    await queryRunner.query(`
      CREATE TABLE "spent_claim" (
        "jti" uuid PRIMARY KEY,
        "expires_at" timestamptz NOT NULL,
        "spent_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "spent_claim"`);
    await queryRunner.query(`DROP TABLE "oauth_state"`);
    await queryRunner.query(`DROP TABLE "linked_account"`);
  }
}
