/**
 * The shapes Flowdock's API sends and receives, as its documentation gives
 * them (messages and their types, threads, thread actions, authentication,
 * users, flows, sources). Ids that Flowdock sends as JSON numbers are exposed
 * as strings.
 */

export interface FlowdockTokens {
  accessToken: string;
  /** Present when Flowdock issued one (the offline_access scope). */
  refreshToken?: string;
  tokenType: string;
  /** Lifetime of the access token in seconds, when Flowdock said. */
  expiresIn?: number;
  scope?: string;
}

export interface FlowdockUser {
  id: string;
  nick: string;
  name: string;
  email?: string;
  avatar?: string;
}

export interface FlowdockFlow {
  id: string;
  name: string;
  /** "organization/flow", for the flow URLs of the REST API. */
  path: string;
  organization: string;
  flow: string;
  webUrl?: string;
}

export interface FlowdockSource {
  id: string;
  name: string;
  /** Only in the response to creating the source: Flowdock never shows it again. */
  flowToken: string;
}

export type FlowdockStatusColor =
  'red' | 'green' | 'yellow' | 'cyan' | 'orange' | 'grey' | 'black' | 'lime' | 'purple' | 'blue';

interface FlowdockViewAction {
  '@type': 'ViewAction';
  name: string;
  url: string;
  description?: string;
  image?: string;
}

interface FlowdockUpdateAction {
  '@type': 'UpdateAction';
  name: string;
  description?: string;
  target: { '@type': 'EntryPoint'; urlTemplate: string; httpMethod: 'POST' };
}

export type FlowdockAction = FlowdockViewAction | FlowdockUpdateAction;

/** The `thread` object of a message: the full new state of the thread. */
export interface FlowdockThread {
  /** May contain `a` tags only. */
  title: string;
  /** HTML. */
  body?: string;
  external_url?: string;
  status?: { color: FlowdockStatusColor; value: string };
  /** Values may contain `a` tags only. */
  fields?: { label: string; value: string }[];
  actions?: FlowdockAction[];
}

/** An `activity` or `discussion` message posted with a source's flow token. */
export interface FlowdockThreadMessage {
  event: 'activity' | 'discussion';
  author: { name: string; avatar?: string; email?: string };
  /** The activity line ("opened the pull request"); for discussions, the comment's headline. */
  title: string;
  /** HTML; discussions carry the comment here. */
  body?: string;
  external_thread_id: string;
  thread: FlowdockThread;
  /** Client-chosen id, unique in the flow: a resend is recognisable by it. */
  uuid?: string;
  tags?: string[];
}
