import { Module } from '@nestjs/common';
import { DatabaseNotifications } from './database-notifications';
import { StormWatch } from './pass-pacing';

/**
 * What wakes and paces the workers: one LISTEN connection per process, and
 * one storm clock, shared by the webhook processor and the delivery worker.
 */
@Module({
  providers: [DatabaseNotifications, StormWatch],
  exports: [DatabaseNotifications, StormWatch],
})
export class DatabaseNotificationsModule {}
