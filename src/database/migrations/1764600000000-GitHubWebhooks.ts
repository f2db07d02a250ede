import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The GitHub module's tables: webhook deliveries (a redelivery is recognised by
 * its id), the merged state of each pull request and issue thread, the
 * subscriptions of repositories to flows (Flowdock sources, which keep the
 * encrypted flow tokens), and the changes the bridge made itself (their
 * webhooks are not announced twice). Messages go to Flowdock's outbox.
 */
export class GitHubWebhooks1764600000000 implements MigrationInterface {
  name = 'GitHubWebhooks1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "github_webhook_delivery" (
        "delivery_id" text PRIMARY KEY,
        "event" text NOT NULL,
        "action" text,
        "repository" text,
        "outcome" text NOT NULL,
        "messages" integer NOT NULL DEFAULT 0,
        "received_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX "github_webhook_delivery_received_at" ON "github_webhook_delivery" ("received_at")`,
    );
    await queryRunner.query(`
      CREATE TABLE "github_thread" (
        "repository" text NOT NULL,
        "kind" text NOT NULL CHECK ("kind" IN ('pull', 'issue')),
        "number" integer NOT NULL,
        "snapshot" jsonb NOT NULL,
        "item_updated_at" timestamptz,
        "ci" jsonb NOT NULL DEFAULT '{}',
        "head_sha" text,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("repository", "kind", "number")
      )`);
    await queryRunner.query(
      `CREATE INDEX "github_thread_head_sha" ON "github_thread" ("repository", "head_sha")`,
    );
    await queryRunner.query(`
      CREATE TABLE "github_subscription" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "repository_pattern" text NOT NULL,
        "source_id" uuid NOT NULL REFERENCES "flowdock_source" ("id") ON DELETE CASCADE,
        "event_kinds" text[] NOT NULL DEFAULT '{}',
        "ignore_bots" boolean NOT NULL DEFAULT false,
        "required_labels" text[] NOT NULL DEFAULT '{}',
        "created_at" timestamptz NOT NULL DEFAULT now(),
        UNIQUE ("repository_pattern", "source_id")
      )`);
    // Changes the bridge made as a user: GitHub's webhook for them adds no second activity.
    await queryRunner.query(`
      CREATE TABLE "github_action_echo" (
        "id" bigserial PRIMARY KEY,
        "repository" text NOT NULL,
        "kind" text NOT NULL,
        "number" integer NOT NULL,
        "action" text NOT NULL,
        "actor" text NOT NULL,
        "subject" text,
        "expires_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "github_action_echo_thread" ON "github_action_echo" ("repository", "kind", "number")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "github_action_echo"`);
    await queryRunner.query(`DROP TABLE "github_subscription"`);
    await queryRunner.query(`DROP TABLE "github_thread"`);
    await queryRunner.query(`DROP TABLE "github_webhook_delivery"`);
  }
}
