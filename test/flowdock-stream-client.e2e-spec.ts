import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  readStream,
  StreamEvent,
  StreamRefusedError,
  StreamUnavailableError,
} from '../src/conversations/flowdock-stream';

/** A streaming API stand-in: each request is recorded and answered by the test's handler. */
class TinyStreamServer {
  readonly requests: IncomingMessage[] = [];
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(req);
      this.handler(req, res);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('readStream (the event-stream client)', () => {
  const server = new TinyStreamServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  const read = (over: Partial<Parameters<typeof readStream>[0]> = {}) => {
    const events: StreamEvent[] = [];
    const done = readStream({
      baseUrl: server.url,
      flow: 'acme/main',
      accessToken: 'stream-token-1',
      signal: new AbortController().signal,
      idleMs: 2_000,
      connectTimeoutMs: 2_000,
      onEvent: async (event) => void events.push(event),
      ...over,
    });
    return { events, done };
  };

  it('asks for the flow as an event-stream with the token and Last-Event-ID, and hands over each event in order', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // A keep-alive comment, an event split across writes, two events in one write.
      res.write(': keep-alive\n\n');
      res.write('id: 41\ndata: {"id":41,"event":"mes');
      res.write('sage","content":"a\\nb"}\n\n');
      res.end('id: 42\ndata: {"id":42}\n\nid: 43\ndata: {"id":43}\n\n');
    };
    const { events, done } = read({ lastEventId: '40' });
    await done;
    expect(events).toEqual([
      { id: '41', data: '{"id":41,"event":"message","content":"a\\nb"}' },
      { id: '42', data: '{"id":42}' },
      { id: '43', data: '{"id":43}' },
    ]);
    const request = server.requests.at(-1)!;
    expect(request.url).toBe('/flows?filter=acme%2Fmain');
    expect(request.headers).toMatchObject({
      accept: 'text/event-stream',
      authorization: 'Bearer stream-token-1',
      'last-event-id': '40',
    });
  });

  it('waits for each event’s handling before reading the next, and ends on a throw', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: one\n\nid: 2\ndata: two\n\n');
    };
    const seen: string[] = [];
    const { done } = read({
      onEvent: async (event) => {
        seen.push(`start ${event.id}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen.push(`end ${event.id}`);
        if (event.id === '2') throw new Error('handler failed');
      },
    });
    await expect(done).rejects.toThrow('handler failed');
    expect(seen).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it.each([401, 403, 404])(
    'a %i is a refusal, with Flowdock’s reason and never the token',
    async (status) => {
      server.handler = (_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Invalid access token' }));
      };
      const { done } = read();
      const error = await done.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamRefusedError);
      expect(error).toMatchObject({ status, reason: 'Invalid access token' });
      expect(String((error as Error).message)).not.toContain('stream-token-1');
    },
  );

  it('a 503 with Retry-After is a failure that may pass, carrying the delay', async () => {
    server.handler = (_req, res) => {
      res.writeHead(503, { 'retry-after': '7' });
      res.end();
    };
    const error = await read().done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamUnavailableError);
    expect(error).toMatchObject({ retryAfterMs: 7_000 });
  });

  it('a stream silent for longer than idleMs is given up', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
    };
    const started = Date.now();
    const error = await read({ idleMs: 300 }).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamUnavailableError);
    expect((error as Error).message).toContain('silent');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a connection cut mid-stream is a failure that may pass, after the events before it', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 9\ndata: nine\n\n');
      setTimeout(() => res.socket?.destroy(), 50);
    };
    const { events, done } = read();
    const error = await done.catch((e: unknown) => e);
    expect(events.map((e) => e.id)).toEqual(['9']);
    expect(error).toBeInstanceOf(StreamUnavailableError);
  });

  it('a signal aborted before the call opens no stream', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
    };
    const before = server.requests.length;
    const controller = new AbortController();
    controller.abort();
    const error = await read({ signal: controller.signal }).done.catch((e: unknown) => e);
    expect((error as { name?: string }).name).toBe('AbortError');
    expect(server.requests.length).toBe(before);
  });

  it('nothing listening is a failure that may pass', async () => {
    const error = await readStream({
      baseUrl: 'http://127.0.0.1:1',
      flow: 'acme/main',
      accessToken: 't',
      signal: new AbortController().signal,
      idleMs: 1_000,
      connectTimeoutMs: 1_000,
      onEvent: async () => undefined,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamUnavailableError);
  });
});
