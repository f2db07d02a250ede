import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { retryDelayMs } from '../delivery/delivery-backoff';
import { FlowdockClient } from '../flowdock/flowdock-client';
import { FlowdockRefusedError } from '../flowdock/flowdock-errors';
import {
  FlowdockSourceService,
  StreamGrant,
  StreamSource,
} from '../flowdock/flowdock-source.service';
import { readStream, StreamRefusedError, StreamUnavailableError } from './flowdock-stream';
import { ReplyOutcome, ThreadReplies } from './thread-replies.service';

/** Reconnecting: the first delay, doubling (with jitter) up to the cap. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** A stream silent this long (Flowdock sends keep-alives) is taken as dead and reopened. */
const IDLE_MS = 90_000;
const CONNECT_TIMEOUT_MS = 15_000;
/** An event whose handling failed this often in a row is skipped (logged), so one cannot stop a flow. */
const MAX_EVENT_FAILURES = 5;
/**
 * The cursor is stored after every event that was a reply, and after other
 * events (the bridge's own posts, mostly) at most this often: replaying a
 * second's events after a reconnect is harmless (replies are recorded by
 * message id), a write per event of a busy flow is not.
 */
const CURSOR_EVERY_MS = 1_000;
/** How often old reply records are pruned. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Refresh a stream token that expires within this. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

interface Listening {
  sourceId: string;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Stores a flow's stream cursor: at once after an event that was a reply,
 * otherwise at most every CURSOR_EVERY_MS (the last one, by a timer), one
 * write at a time so that an older id never lands after a newer one.
 */
class CursorSaver {
  private unsaved: string | undefined;
  private savedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly save: (eventId: string) => Promise<void>) {}

  async handled(eventId: string, wasReply: boolean): Promise<void> {
    const since = performance.now() - this.savedAt;
    if (wasReply || since >= CURSOR_EVERY_MS) return this.write(eventId);
    this.unsaved = eventId;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      // A failure here (the lease lost) has already stopped the listener.
      this.flush().catch(() => undefined);
    }, CURSOR_EVERY_MS - since);
  }

  /** Stores the last event not stored yet, if any. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unsaved !== undefined) await this.write(this.unsaved).catch(() => undefined);
    await this.writing.catch(() => undefined);
  }

  private write(eventId: string): Promise<void> {
    this.unsaved = undefined;
    this.savedAt = performance.now();
    this.writing = this.writing.catch(() => undefined).then(() => this.save(eventId));
    return this.writing;
  }
}

/**
 * Listens to the flows of the bridge's threads (Flowdock's streaming API,
 * event-stream) and hands each event to ThreadReplies. Every
 * FLOWDOCK_STREAM_CHECK_MS it finds the flows with a usable stream token and
 * takes or renews a lease per flow in `flowdock_stream`: one replica listens
 * to a flow at a time, and another takes over once the lease has expired.
 * The id of each handled event is stored, so a reconnect (after an error,
 * the server ending the stream, a restart) resumes with `Last-Event-ID`
 * and misses nothing. Reconnects back off exponentially with jitter, capped.
 * A token the stream refuses (401/403/404) is refreshed when it has a refresh
 * token, else marked refused on its source (logged once) and not used again
 * until replaced.
 */
@Injectable()
export class FlowStreams implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('FlowdockStreams');
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly stream: AppConfig['flowdock']['stream'];
  private readonly leaseMs: number;
  private readonly flows = new Map<string, Listening>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;
  /** What the last check logged about having nothing to listen to, so it is said once. */
  private idleSaid = false;
  private lastPrune = 0;
  private readonly retentionDays: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sources: FlowdockSourceService,
    private readonly replies: ThreadReplies,
    private readonly client: FlowdockClient,
    config: ConfigService<AppConfig, true>,
  ) {
    this.stream = config.get('flowdock', { infer: true }).stream;
    this.leaseMs = Math.max(1_000, this.stream.checkMs * 3);
    this.retentionDays = config.get('github', { infer: true }).deliveryRetentionDays;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.stream.checkMs <= 0) {
      this.logger.log(
        'Replies in Flowdock threads are not listened to (FLOWDOCK_STREAM_CHECK_MS=0)',
      );
      return;
    }
    await this.sources.configureDefaultStream();
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
    const flows = [...this.flows.keys()];
    for (const listening of this.flows.values()) listening.controller.abort();
    await Promise.allSettled([...this.flows.values()].map((l) => l.done));
    this.flows.clear();
    // Another replica may take the flows over at once.
    if (flows.length > 0) {
      await this.dataSource
        .query(
          `UPDATE flowdock_stream SET lease_owner = NULL, lease_until = NULL
           WHERE flow = ANY($1) AND lease_owner = $2`,
          [flows, this.owner],
        )
        .catch(() => undefined);
    }
  }

  /** The flows this process listens to now. */
  listening(): string[] {
    return [...this.flows.keys()];
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.checking = this.check().finally(() => {
        this.checking = undefined;
        this.schedule(this.stream.checkMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** Starts, renews and stops listening per flow; now and then prunes old reply records. */
  private async check(): Promise<void> {
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await this.replies
        .prune(this.retentionDays)
        .catch((error: Error) => this.logger.warn(`Pruning replies failed: ${error.message}`));
    }
    let wanted: StreamSource[];
    try {
      wanted = await this.sources.streamSources();
    } catch (error) {
      this.logger.warn(`Looking for flows to listen to failed: ${(error as Error).message}`);
      return;
    }
    if (wanted.length === 0 && this.flows.size === 0) {
      if (!this.idleSaid) {
        this.logger.log(
          'No usable Flowdock stream token: replies in threads are not heard ' +
            '(set FLOWDOCK_FLOW and FLOWDOCK_STREAM_TOKEN, connect a flow through the setup page, ' +
            'or use `npm run cli -- sources stream-token <id>`)',
        );
        this.idleSaid = true;
      }
      return;
    }
    this.idleSaid = false;
    const byFlow = new Map(wanted.map((w) => [w.flow, w]));
    for (const [flow, listening] of this.flows) {
      if (byFlow.get(flow)?.sourceId !== listening.sourceId || !(await this.lease(flow))) {
        listening.controller.abort();
        this.flows.delete(flow);
      }
    }
    for (const source of wanted) {
      if (this.stopped || this.flows.has(source.flow)) continue;
      if (!(await this.lease(source.flow))) continue;
      const controller = new AbortController();
      const done = this.listen(source, controller.signal)
        .catch((error: Error) => {
          if (!controller.signal.aborted) {
            this.logger.error(`Listening to ${source.flow} failed: ${error.message}`);
          }
        })
        .finally(() => {
          if (this.flows.get(source.flow)?.controller === controller)
            this.flows.delete(source.flow);
        });
      this.flows.set(source.flow, { sourceId: source.sourceId, controller, done });
    }
  }

  /** Takes or renews this process's lease on a flow's stream; false when another replica holds it. */
  private async lease(flow: string): Promise<boolean> {
    try {
      const rows: unknown[] = await this.dataSource.query(
        `INSERT INTO flowdock_stream (flow, lease_owner, lease_until)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (flow) DO UPDATE
           SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until, updated_at = now()
           WHERE flowdock_stream.lease_owner = EXCLUDED.lease_owner
              OR flowdock_stream.lease_owner IS NULL OR flowdock_stream.lease_until < now()
         RETURNING 1`,
        [flow, this.owner, this.leaseMs / 1000],
      );
      return rows.length > 0;
    } catch (error) {
      this.logger.warn(`Leasing the stream of ${flow} failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Listens to one flow until aborted or its token is refused, reconnecting with backoff. */
  private async listen(source: StreamSource, signal: AbortSignal): Promise<void> {
    const { flow, sourceId } = source;
    let failures = 0;
    let opened = false;
    let refreshed = false;
    const eventFailures = { id: undefined as string | undefined, count: 0 };
    const cursor = new CursorSaver((id) => this.saveCursor(flow, id, signal));
    while (!signal.aborted) {
      let retryAfterMs: number | undefined;
      let grant: (StreamGrant & { ciphertext: string }) | undefined;
      try {
        grant = await this.freshGrant(sourceId);
        if (!grant) return;
        const [stored]: { last_event_id: string | null }[] = await this.dataSource.query(
          `SELECT last_event_id FROM flowdock_stream WHERE flow = $1`,
          [flow],
        );
        try {
          await readStream({
            baseUrl: this.stream.url,
            flow,
            accessToken: grant.accessToken,
            lastEventId: stored?.last_event_id ?? undefined,
            signal,
            idleMs: IDLE_MS,
            connectTimeoutMs: CONNECT_TIMEOUT_MS,
            onOpen: () => {
              this.logger.log(opened ? `Listening to ${flow} again` : `Listening to ${flow}`);
              opened = true;
              failures = 0;
              refreshed = false;
            },
            onEvent: async (event) => {
              let outcome: ReplyOutcome | undefined;
              try {
                outcome = await this.replies.handle(flow, event);
              } catch (error) {
                if (signal.aborted) throw error;
                if (eventFailures.id !== event.id)
                  Object.assign(eventFailures, { id: event.id, count: 0 });
                if (++eventFailures.count < MAX_EVENT_FAILURES) throw error;
                this.logger.error(
                  `Skipping event ${event.id ?? '?'} of ${flow} after ${eventFailures.count} failures: ${(error as Error).message}`,
                );
              }
              if (event.id !== undefined) await cursor.handled(event.id, outcome !== 'ignored');
            },
          });
        } finally {
          // Where the stream stopped, for the next connection (or replica) to resume after.
          await cursor.flush();
        }
        // The server ended the stream (maintenance): reconnect, after a short pause.
        if (!signal.aborted) this.logger.log(`Flowdock ended the stream of ${flow}; reconnecting`);
      } catch (error) {
        if (signal.aborted) return;
        const refusal = error instanceof StreamRefusedError ? error : undefined;
        const refresh =
          refusal && !refreshed && grant!.refreshToken
            ? await this.refresh(sourceId, grant!.ciphertext)
            : 'refused';
        if (refusal && refresh === 'refreshed') {
          refreshed = true;
          continue;
        }
        if (refusal && refresh === 'refused') {
          const reason = `Flowdock's stream refused the token (${refusal.status}: ${refusal.reason})`;
          if (await this.sources.refuseStream(sourceId, grant!.ciphertext, reason)) {
            this.logger.warn(
              `Not listening to ${flow} any more: ${reason}. Give source ${sourceId} a new token ` +
                '(`npm run cli -- sources stream-token`, FLOWDOCK_STREAM_TOKEN, or the setup page)',
            );
          }
          return;
        }
        // Anything else (the network, Flowdock, the database, a refresh Flowdock could not answer) may pass.
        failures++;
        if (error instanceof StreamUnavailableError) retryAfterMs = error.retryAfterMs;
        const message = (error as Error).message;
        if (failures === 1 || failures % 10 === 0) {
          this.logger.warn(`The stream of ${flow} failed (${failures}x), reconnecting: ${message}`);
        }
      }
      const delay = retryDelayMs(Math.max(failures, 1), {
        baseMs: RETRY_BASE_MS,
        maxMs: RETRY_MAX_MS,
        retryAfterMs,
      });
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Stores the last handled event; a lost lease ends this listener (another replica took the flow). */
  private async saveCursor(flow: string, eventId: string, signal: AbortSignal): Promise<void> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE flowdock_stream SET last_event_id = $2, updated_at = now()
       WHERE flow = $1 AND lease_owner = $3`,
      [flow, eventId, this.owner],
    );
    if (count === 0 && !signal.aborted) {
      this.flows.get(flow)?.controller.abort();
      throw new Error(`the lease on ${flow} was lost`);
    }
  }

  /** The source's grant, refreshed first when it is about to expire; undefined when it has none. */
  private async freshGrant(sourceId: string) {
    const grant = await this.sources.streamGrant(sourceId);
    if (!grant) return undefined;
    if (
      grant.refreshToken &&
      grant.expiresAt &&
      grant.expiresAt.getTime() - REFRESH_MARGIN_MS <= Date.now()
    ) {
      await this.refresh(sourceId, grant.ciphertext);
      return this.sources.streamGrant(sourceId);
    }
    return grant;
  }

  /** Refreshes a stream grant (once across replicas): refused when Flowdock refused the refresh token. */
  private async refresh(
    sourceId: string,
    seenCiphertext: string,
  ): Promise<'refreshed' | 'refused' | 'unavailable'> {
    try {
      const fresh = await this.sources.refreshStreamGrant(
        sourceId,
        seenCiphertext,
        async (refresh) => {
          const tokens = await this.client.refreshTokens(refresh);
          return {
            accessToken: tokens.accessToken,
            ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
            ...(tokens.expiresIn
              ? { expiresAt: new Date(Date.now() + tokens.expiresIn * 1000) }
              : {}),
          };
        },
      );
      return fresh !== undefined ? 'refreshed' : 'refused';
    } catch (error) {
      if (error instanceof FlowdockRefusedError) return 'refused';
      this.logger.warn(
        `Refreshing the stream token of source ${sourceId} failed: ${(error as Error).message}`,
      );
      return 'unavailable';
    }
  }
}
