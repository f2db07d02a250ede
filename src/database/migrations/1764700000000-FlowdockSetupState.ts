import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Flowdock setup flow (Setup URI) keeps its steps in oauth_state: two new
 * purposes, so a state of one step is never accepted by another, and the flow
 * being set up.
 */
export class FlowdockSetupState1764700000000 implements MigrationInterface {
  name = 'FlowdockSetupState1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "oauth_state" ADD COLUMN "flow_id" text`);
    await queryRunner.query(
      `ALTER TABLE "oauth_state" DROP CONSTRAINT IF EXISTS "oauth_state_purpose_check"`,
    );
    await queryRunner.query(
      `ALTER TABLE "oauth_state" ADD CONSTRAINT "oauth_state_purpose_check" CHECK ("purpose" IN
        ('link-flowdock', 'link-github', 'account', 'flowdock-setup', 'flowdock-setup-form'))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DELETE FROM "oauth_state" WHERE "purpose" IN ('flowdock-setup', 'flowdock-setup-form')`,
    );
    await queryRunner.query(
      `ALTER TABLE "oauth_state" DROP CONSTRAINT "oauth_state_purpose_check"`,
    );
    await queryRunner.query(
      `ALTER TABLE "oauth_state" ADD CONSTRAINT "oauth_state_purpose_check" CHECK ("purpose" IN
        ('link-flowdock', 'link-github', 'account'))`,
    );
    await queryRunner.query(`ALTER TABLE "oauth_state" DROP COLUMN "flow_id"`);
  }
}
