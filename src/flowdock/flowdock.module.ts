import { Module } from '@nestjs/common';
import { FlowdockClient } from './flowdock-client';

/**
 * Everything that talks to Flowdock or answers it: the API client, the
 * verification of signed UpdateAction requests, thread rendering and the
 * reliable delivery of messages.
 */
@Module({
  providers: [FlowdockClient],
  exports: [FlowdockClient],
})
export class FlowdockModule {}
