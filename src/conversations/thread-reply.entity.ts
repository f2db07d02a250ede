import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What became of a reply heard in one of the bridge's threads: `commented`
 * (a GitHub comment as the replier), `awaiting-link` (the replier was not
 * linked; posted once they link), `failed` (GitHub refused; `reason`),
 * `expired` (never linked in time). The key is Flowdock's message id in its
 * flow: a replayed event finds its row and posts nothing.
 */
@Entity('flowdock_reply')
export class ThreadReplyEntity {
  /** Flowdock's flow id from the event (message ids are unique per flow). */
  @PrimaryColumn({ type: 'text' })
  flow: string;

  @PrimaryColumn({ name: 'message_id', type: 'text' })
  messageId: string;

  /** The bridge's thread (flowdock_thread.id). */
  @Column({ name: 'thread_id', type: 'bigint' })
  threadId: string;

  @Column({ name: 'flowdock_user_id', type: 'text' })
  flowdockUserId: string;

  @Column({ type: 'text' })
  outcome: 'commented' | 'awaiting-link' | 'failed' | 'expired';

  /** The text, kept only while it waits for its author to link. */
  @Column({ type: 'text', nullable: true })
  content: string | null;

  @Column({ name: 'comment_id', type: 'bigint', nullable: true })
  commentId: string | null;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}

/** The notice an unlinked replier got in a thread: once per person and thread while its link works. */
@Entity('flowdock_reply_notice')
export class ReplyNoticeEntity {
  @PrimaryColumn({ name: 'thread_id', type: 'bigint' })
  threadId: string;

  @PrimaryColumn({ name: 'flowdock_user_id', type: 'text' })
  flowdockUserId: string;

  @Column({ name: 'posted_at', type: 'timestamptz', default: () => 'now()' })
  postedAt: Date;

  /** When the claim in its link expires: a reply after that gets a new notice with a new link. */
  @Column({ name: 'link_expires_at', type: 'timestamptz' })
  linkExpiresAt: Date;
}
