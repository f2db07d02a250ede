import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FlowdockClient } from './flowdock-client';
import { FlowdockSourceEntity } from './flowdock-source.entity';
import { FlowdockSourceService } from './flowdock-source.service';

/**
 * Flowdock's API (OAuth, flows, messages, streams) and the sources: each flow
 * the bridge posts to, with its encrypted token. Every feature that talks to
 * Flowdock imports this module; it depends on none of them.
 */
@Module({
  imports: [TypeOrmModule.forFeature([FlowdockSourceEntity])],
  providers: [FlowdockClient, FlowdockSourceService],
  exports: [FlowdockClient, FlowdockSourceService],
})
export class FlowdockModule {}
