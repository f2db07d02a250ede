import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FlowdockDeliveryService } from './flowdock-delivery.service';
import { FlowdockMessageEntity } from './flowdock-message.entity';
import { FlowdockThreadEntity } from './flowdock-thread.entity';

/**
 * The Flowdock outbox's queue: enqueueing a thread's messages, and the
 * operator's view of dead letters (the CLI imports this module, not the worker).
 */
@Module({
  imports: [TypeOrmModule.forFeature([FlowdockThreadEntity, FlowdockMessageEntity])],
  providers: [FlowdockDeliveryService],
  exports: [FlowdockDeliveryService],
})
export class DeliveryModule {}
