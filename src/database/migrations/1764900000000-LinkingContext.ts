import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A linking flow carries what its claim established (the action the user
 * clicked, their Flowdock name) from step to step, so the bridge can perform
 * that action once the link is stored and name people on its pages.
 */
export class LinkingContext1764900000000 implements MigrationInterface {
  name = 'LinkingContext1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "oauth_state" ADD COLUMN "context" jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "oauth_state" DROP COLUMN "context"`);
  }
}
