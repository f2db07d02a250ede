import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first migration: one row that identifies this installation, so that
 * logs and readiness can tell two databases apart, and that proves the schema
 * was created by migrations.
 */
export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "installation" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "singleton" boolean NOT NULL DEFAULT true UNIQUE CHECK ("singleton")
      )`);
    await queryRunner.query(`INSERT INTO "installation" DEFAULT VALUES`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "installation"`);
  }
}
