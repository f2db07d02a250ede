import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Subscription rules beyond event kinds, bots and required labels: labels
 * that exclude an item, logins (or globs) whose events and items are left
 * out, and what to do with draft pull requests. Subscriptions that exist keep
 * announcing drafts as before; new ones default to `when-ready`.
 */
export class SubscriptionRules1765000000000 implements MigrationInterface {
  name = 'SubscriptionRules1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "github_subscription"
        ADD COLUMN "exclude_labels" text[] NOT NULL DEFAULT '{}',
        ADD COLUMN "exclude_users" text[] NOT NULL DEFAULT '{}',
        ADD COLUMN "drafts" text NOT NULL DEFAULT 'announce'
          CHECK ("drafts" IN ('announce', 'when-ready'))`);
    await queryRunner.query(
      `ALTER TABLE "github_subscription" ALTER COLUMN "drafts" SET DEFAULT 'when-ready'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "github_subscription"
        DROP COLUMN "exclude_labels", DROP COLUMN "exclude_users", DROP COLUMN "drafts"`);
  }
}
