import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { DeliveriesController } from './deliveries.controller';
import { DeliveriesSessionService } from './deliveries-session.service';
import { DeliveriesSignIn } from './deliveries-sign-in';
import { DeliveryLogService } from './delivery-log.service';

/**
 * The delivery log pages (GET /deliveries, /deliveries/:owner/:repo/:number):
 * read-only views of the webhook inbox and the Flowdock outbox, behind a
 * Flowdock sign-in that completes through AuthModule's callback.
 */
@Module({
  imports: [AuthModule, FlowdockModule],
  controllers: [DeliveriesController],
  providers: [DeliveryLogService, DeliveriesSessionService, DeliveriesSignIn],
})
export class DeliveryLogModule {}
