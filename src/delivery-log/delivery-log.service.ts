import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FlowdockSourceService } from '../flowdock/flowdock-source.service';

/** Rows shown on the repository page. */
export const REPOSITORY_PAGE_ROWS = 200;
/** Rows of each kind shown on an item page (retention keeps far fewer for one item). */
const ITEM_PAGE_ROWS = 500;

export interface DeliveryEntry {
  deliveryId: string;
  event: string;
  action: string | null;
  /** GitHub login of the sender; null for deliveries stored before it was kept. */
  sender: string | null;
  itemKind: 'pull' | 'issue' | null;
  itemNumber: number | null;
  /** null while waiting to be processed. */
  outcome: string | null;
  reason: string | null;
  messages: number;
  receivedAt: Date;
  processedAt: Date | null;
}

/** A Flowdock source as the pages show it: never its flow token or the token's hash. */
export interface SourceView {
  id: string;
  flow: string | null;
  name: string | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  pausedUntil: Date | null;
  /** Flowdock refused the token that reads the flow's replies: when, and why (see src/conversations). */
  streamRefusedAt: Date | null;
  streamRefusedReason: string | null;
}

/** Where a repository's deliveries go: subscriptions naming it (or its owner's `*`), else the default source. */
export interface RouteView {
  source: SourceView;
  /** The subscription's pattern, or null for the default source (FLOWDOCK_FLOW_TOKEN). */
  pattern: string | null;
}

export interface SendEntry {
  id: string;
  externalThreadId: string;
  source: SourceView;
  /** The activity's line ("opened pull request") and who did it. */
  title: string | null;
  author: string | null;
  status: 'pending' | 'sent' | 'dead';
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
  deadAt: Date | null;
}

const SOURCE_COLUMNS = `s.id AS source_id, s.flow, s.name AS source_name, s.disabled_at,
  s.disabled_reason, s.paused_until, s.stream_refused_at, s.stream_refused_reason`;

type Row = Record<string, unknown>;

const date = (value: unknown) => (value === null ? null : new Date(value as string));

function toSource(row: Row): SourceView {
  return {
    id: row.source_id as string,
    flow: row.flow as string | null,
    name: row.source_name as string | null,
    disabledAt: date(row.disabled_at),
    disabledReason: row.disabled_reason as string | null,
    pausedUntil: date(row.paused_until),
    streamRefusedAt: date(row.stream_refused_at),
    streamRefusedReason: row.stream_refused_reason as string | null,
  };
}

function toDelivery(row: Row): DeliveryEntry {
  return {
    deliveryId: row.delivery_id as string,
    event: row.event as string,
    action: row.action as string | null,
    sender: row.sender as string | null,
    itemKind: row.item_kind as DeliveryEntry['itemKind'],
    itemNumber: row.item_number as number | null,
    outcome: row.outcome as string | null,
    reason: row.reason as string | null,
    messages: row.messages as number,
    receivedAt: new Date(row.received_at as string),
    processedAt: date(row.processed_at),
  };
}

const DELIVERY_COLUMNS = `delivery_id, event, action, sender, item_kind, item_number, outcome, reason,
  messages, received_at, processed_at`;

/** `github:<owner>/<repo>:<pull|issue>:<number>`, as thread-snapshot.ts names threads. */
const threadIds = (repository: string, number: number) =>
  (['pull', 'issue'] as const).map((kind) => `github:${repository}:${kind}:${number}`);

/**
 * The reads behind the delivery log pages: GitHub deliveries
 * (`github_webhook_delivery`), the Flowdock sends of a thread
 * (`flowdock_message`) and where a repository is routed. Repository names
 * compare case-insensitively, as GitHub's do.
 */
@Injectable()
export class DeliveryLogService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sources: FlowdockSourceService,
  ) {}

  /** The item's deliveries (pull request or issue of that number), newest first. */
  async itemDeliveries(repository: string, number: number): Promise<DeliveryEntry[]> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${DELIVERY_COLUMNS} FROM github_webhook_delivery
       WHERE lower(repository) = lower($1) AND item_number = $2
       ORDER BY seq DESC LIMIT ${ITEM_PAGE_ROWS}`,
      [repository, number],
    );
    return rows.map(toDelivery);
  }

  /** The repository's newest deliveries, and how many of each outcome the log holds. */
  async repositoryDeliveries(
    repository: string,
  ): Promise<{ deliveries: DeliveryEntry[]; counts: Record<string, number> }> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${DELIVERY_COLUMNS} FROM github_webhook_delivery
       WHERE lower(repository) = lower($1) ORDER BY seq DESC LIMIT ${REPOSITORY_PAGE_ROWS}`,
      [repository],
    );
    const counted: { outcome: string; count: number }[] = await this.dataSource.query(
      `SELECT coalesce(outcome, 'pending') AS outcome, count(*)::int AS count
       FROM github_webhook_delivery WHERE lower(repository) = lower($1) GROUP BY 1 ORDER BY 1`,
      [repository],
    );
    return {
      deliveries: rows.map(toDelivery),
      counts: Object.fromEntries(counted.map((c) => [c.outcome, c.count])),
    };
  }

  /** Every Flowdock message of the item's threads (both kinds, every flow), newest first. */
  async itemSends(repository: string, number: number): Promise<SendEntry[]> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT m.id, t.external_thread_id, ${SOURCE_COLUMNS}, m.event->>'title' AS title,
              m.event->'author'->>'name' AS author, m.status, m.attempts, m.last_error,
              m.created_at, m.sent_at, m.dead_at
       FROM flowdock_thread t
       JOIN flowdock_source s ON s.id = t.source_id
       JOIN flowdock_message m ON m.thread_id = t.id
       WHERE lower(t.external_thread_id) = ANY($1)
       ORDER BY m.id DESC LIMIT ${ITEM_PAGE_ROWS}`,
      [threadIds(repository.toLowerCase(), number)],
    );
    return rows.map((row) => ({
      id: String(row.id),
      externalThreadId: row.external_thread_id as string,
      source: toSource(row),
      title: row.title as string | null,
      author: row.author as string | null,
      status: row.status as SendEntry['status'],
      attempts: row.attempts as number,
      lastError: row.last_error as string | null,
      createdAt: new Date(row.created_at as string),
      sentAt: date(row.sent_at),
      deadAt: date(row.dead_at),
    }));
  }

  /**
   * The sources the repository posts to now: its subscriptions' (the
   * repository's own pattern or its owner's `*`), or the default source
   * (FLOWDOCK_FLOW_TOKEN) when it has none.
   */
  async routes(repository: string): Promise<RouteView[]> {
    const lower = repository.toLowerCase();
    const rows: Row[] = await this.dataSource.query(
      `SELECT DISTINCT ON (s.id) ${SOURCE_COLUMNS}, sub.repository_pattern
       FROM github_subscription sub JOIN flowdock_source s ON s.id = sub.source_id
       WHERE sub.repository_pattern = ANY($1)
       ORDER BY s.id, sub.created_at`,
      [[lower, `${lower.split('/')[0]}/*`]],
    );
    if (rows.length > 0) {
      return rows.map((row) => ({
        source: toSource(row),
        pattern: row.repository_pattern as string,
      }));
    }
    const defaultId = await this.sources.defaultSourceId();
    if (!defaultId) return [];
    const [row]: Row[] = await this.dataSource.query(
      `SELECT ${SOURCE_COLUMNS} FROM flowdock_source s WHERE s.id = $1`,
      [defaultId],
    );
    return row ? [{ source: toSource(row), pattern: null }] : [];
  }

  /** The flows the bridge's sources name (`flowdock_source.flow`), for matching a user's flows. */
  async knownFlows(): Promise<string[]> {
    const rows: { flow: string }[] = await this.dataSource.query(
      `SELECT DISTINCT flow FROM flowdock_source WHERE flow IS NOT NULL`,
    );
    return rows.map((row) => row.flow);
  }
}
