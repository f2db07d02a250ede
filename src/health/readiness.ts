import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Whether the bridge can serve: the database answers and every migration this
 * build knows is applied. GET /health/ready answers it; the home page shows it.
 */
@Injectable()
export class Readiness {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Terminus's result; throws ServiceUnavailableException (503) naming the failing checks. */
  check() {
    return this.health.check([
      () => this.database.pingCheck('database').withTimeout(CHECK_TIMEOUT_MS),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            if (await this.dataSource.showMigrations()) throw new Error('migrations pending');
          })
          .withTimeout(CHECK_TIMEOUT_MS),
    ]);
  }
}
