/** One message as the streaming API sends it: its event id and its JSON. */
export interface StreamEvent {
  /** The message id: the simulator numbers every message of every flow from one counter. */
  id: number;
  flowId: string;
  json: string;
}

/** An open stream: the flows its filter names, and how to hand it an event or end it. */
export interface StreamSubscriber {
  flowIds: ReadonlySet<string>;
  send(event: StreamEvent): void;
  /** Ends the response; the server closes the connection (as after routine maintenance). */
  close(): void;
}

/**
 * The streaming API's side of the simulator: who listens to which flows, and
 * the recent events of each flow for resuming with Last-Event-ID. Real
 * Flowdock kept some history for reconnects; how much is not documented, so
 * the simulator keeps the last `historyLimit` events per flow.
 */
export class FlowdockStreamHub {
  historyLimit = 10_000;
  private readonly history = new Map<string, StreamEvent[]>();
  private readonly subscribers = new Set<StreamSubscriber>();

  publish(flowId: string, id: number, message: object): void {
    const event: StreamEvent = { id, flowId, json: JSON.stringify(message) };
    const events = this.history.get(flowId) ?? [];
    events.push(event);
    if (events.length > this.historyLimit) events.splice(0, events.length - this.historyLimit);
    this.history.set(flowId, events);
    for (const subscriber of this.subscribers) {
      if (subscriber.flowIds.has(flowId)) subscriber.send(event);
    }
  }

  /** The kept events of these flows after `lastEventId`, oldest first. */
  since(flowIds: ReadonlySet<string>, lastEventId: number): StreamEvent[] {
    return [...flowIds]
      .flatMap((flowId) => (this.history.get(flowId) ?? []).filter((e) => e.id > lastEventId))
      .sort((a, b) => a.id - b.id);
  }

  /** Adds a stream; the function removes it again. */
  subscribe(subscriber: StreamSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get open(): number {
    return this.subscribers.size;
  }

  /** Ends every open stream; how many there were. */
  dropAll(): number {
    const all = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of all) subscriber.close();
    return all.length;
  }
}
