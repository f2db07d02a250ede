import { ThreadMessage } from './github-event.types';
import { GhUser } from './github-payload.types';

/** Who a message about what `sender` did is shown as: their login and avatar. */
export const messageAuthor = (sender: GhUser): ThreadMessage['author'] => ({
  name: sender.login,
  ...(sender.avatar_url ? { avatar: sender.avatar_url } : {}),
});

/** A one-line message ("opened pull request") about what `sender` did. */
export const activityMessage = (sender: GhUser, title: string): ThreadMessage => ({
  event: 'activity',
  title,
  author: messageAuthor(sender),
});
