/** The Flowdock user who clicked, as Flowdock describes them in the request body. */
export interface FlowdockAgent {
  '@type'?: string;
  name?: string;
  image?: string;
}

/** A verified UpdateAction request, as handlers receive it through @FlowdockClick(). */
export interface FlowdockActionRequest {
  /** The Flowdock user id (the token's `sub`), as a string. */
  userId: string;
  action: {
    /** The action's name as posted in the thread ("Assign to me"). */
    name: string;
    agent?: FlowdockAgent;
    /** The signed target URL (PUBLIC_URL + the request path). */
    urlTemplate: string;
  };
}
