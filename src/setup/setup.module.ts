import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { FlowdockSetupController } from './flowdock-setup.controller';
import { FlowdockSetupService } from './flowdock-setup.service';

/** The setup flow (/setup/flowdock): sign in with Flowdock, pick a flow and repositories, get subscriptions. */
@Module({
  imports: [AuthModule, FlowdockModule, SubscriptionsModule],
  controllers: [FlowdockSetupController],
  providers: [FlowdockSetupService],
})
export class SetupModule {}
