import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { ClaimedActions } from '../auth/claimed-actions';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ThreadsModule } from '../threads/threads.module';
import { FlowStreams } from './flow-streams';
import { FlowdockStreamEntity } from './flowdock-stream.entity';
import { ReplyComments } from './reply-comments';
import { ReplyNoticeEntity, ThreadReplyEntity } from './thread-reply.entity';
import { ThreadReplies } from './thread-replies.service';

/**
 * Conversations both ways: replies written in the bridge's Flowdock threads,
 * heard through Flowdock's streaming API, become GitHub comments made by
 * their authors' linked accounts (GitHub's comments come the other way as
 * discussion messages, in WebhooksModule).
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([FlowdockStreamEntity, ThreadReplyEntity, ReplyNoticeEntity]),
    FlowdockModule,
    AuthModule,
    ThreadsModule,
    MetricsModule,
  ],
  providers: [FlowStreams, ThreadReplies, ReplyComments],
  exports: [FlowStreams, ThreadReplies],
})
export class ConversationsModule implements OnModuleInit {
  constructor(
    private readonly linked: ClaimedActions,
    private readonly replies: ThreadReplies,
  ) {}

  onModuleInit(): void {
    // Replies written before linking are posted once the link is stored.
    this.linked.onLinked((flowdockUserId) => this.replies.postAwaiting(flowdockUserId));
  }
}
