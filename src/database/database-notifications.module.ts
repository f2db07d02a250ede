import { Module } from '@nestjs/common';
import { DatabaseNotifications } from './database-notifications';

/** One LISTEN connection per process, shared by the webhook processor and the delivery worker. */
@Module({ providers: [DatabaseNotifications], exports: [DatabaseNotifications] })
export class DatabaseNotificationsModule {}
