import { Agent, createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** One request the proxy finished: answered by a replica, or cut off because its replica died. */
export interface ProxiedRequest {
  replica: number;
  method: string;
  path: string;
  deliveryId: string | undefined;
  /** The replica's status; undefined: the connection to it broke before the answer. */
  status: number | undefined;
}

/**
 * A loopback HTTP load balancer in front of bridge replicas: each request goes
 * to the next replica in turn; one that refuses the connection (stopped, or
 * not listening yet) is skipped, as nothing reached it. A request whose
 * replica dies after taking it is not answered by the proxy (no 502): the
 * client's connection is destroyed, as a direct connection to that replica
 * would have been, so the client sees a connection error and may send again.
 * Answers carry `x-replica: <index>`.
 */
export class RoundRobinProxy {
  readonly finished: ProxiedRequest[] = [];
  /** Called just before a request is sent to a replica (to act at that moment). */
  beforeForward: ((replica: number, path: string) => void) | undefined;
  private readonly inFlight: number[];
  private readonly agent = new Agent({ keepAlive: true });
  private server: Server | undefined;
  private next = 0;
  url = '';

  constructor(private readonly ports: number[]) {
    this.inFlight = ports.map(() => 0);
  }

  /** Requests sent to a replica in full and not answered yet. */
  waiting(replica: number): number {
    return this.inFlight[replica];
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    // Longer than any pause of the test: an idle client connection is never closed under it.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client went away
    }
    const body = Buffer.concat(chunks);
    const first = this.next++ % this.ports.length;
    for (let i = 0; i < this.ports.length; i++) {
      const replica = (first + i) % this.ports.length;
      const outcome = await this.forward(replica, req, body, res);
      if (outcome !== 'refused') return;
    }
    req.socket.destroy(); // no replica at all: a connection error too
  }

  /** Sends the request to one replica and relays its answer. */
  private forward(
    replica: number,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<'relayed' | 'refused' | 'cut'> {
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const record = (status: number | undefined) =>
      this.finished.push({
        replica,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        deliveryId: req.headers['x-github-delivery'] as string | undefined,
        status,
      });
    return new Promise((resolve) => {
      let sent = false;
      let answered = false;
      const upstream = request({
        host: '127.0.0.1',
        port: this.ports[replica],
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent,
      });
      upstream.on('finish', () => {
        if (answered) return;
        sent = true;
        this.inFlight[replica]++;
      });
      const settle = () => {
        if (sent) this.inFlight[replica]--;
        sent = false;
      };
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        settle();
        if (answered) return;
        if (error.code === 'ECONNREFUSED') return resolve('refused');
        record(undefined);
        req.socket.destroy();
        resolve('cut');
      });
      upstream.on('response', (answer) => {
        answered = true;
        settle();
        res.writeHead(answer.statusCode!, { ...answer.headers, 'x-replica': String(replica) });
        answer.pipe(res);
        answer.on('error', () => undefined); // seen below: the answer is incomplete
        answer.on('close', () => {
          if (answer.complete) {
            record(answer.statusCode);
            return resolve('relayed');
          }
          // The replica died in the middle of its answer.
          record(undefined);
          req.socket.destroy();
          resolve('cut');
        });
      });
      this.beforeForward?.(replica, req.url ?? '/');
      upstream.end(body);
    });
  }
}
