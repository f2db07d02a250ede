import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const REPLY_OUTCOMES = ['commented', 'awaiting_link', 'failed', 'duplicate'] as const;
type ReplyMetricOutcome = (typeof REPLY_OUTCOMES)[number];
/** A Flowdock send's answer: its HTTP status class, or none at all (timeout, connection failure). */
export type SendClass = '2xx' | '4xx' | '5xx' | 'network';
export type ActionOutcome = 'performed' | 'challenged' | 'refused' | 'failed';
type DeadLetterReason = 'refused' | 'attempts_exhausted' | 'source_disabled';
type RefreshOutcome = 'ok' | 'failed';
/** How a GitHub authorization was found revoked: its webhook, or GitHub refusing the token. */
type RevocationSource = 'webhook' | 'token_refused';

/** What one scrape reads from the database; null when the database did not answer. */
export interface DatabaseSample {
  inboxPending: number;
  inboxOldestSeconds: number;
  outboxPending: number;
  outboxOldestSeconds: number;
  sourcesPaused: number;
  sourcesDisabled: number;
}

/** 5 ms … 60 s: a delivery usually waits tens of milliseconds; minutes mean the processor is stuck. */
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** An action is a GitHub call and a transaction; GITHUB_TIMEOUT_MS (8 s) bounds it. */
const ACTION_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The bridge's Prometheus instruments, in a registry of this application
 * instance (never prom-client's global one: tests run several apps in one
 * process). Other modules record through the methods below; GET /metrics
 * renders the registry.
 *
 * Cost per call (measured): ~0.1 µs for a child bound once (Flowdock sends),
 * ~0.2 µs for an increment with a label object, ~0.2 µs for a histogram
 * observation — against ~300 µs of CPU per webhook. prom-client 15 hashes the
 * labels on each increment even through a bound child, so caching children
 * for open label sets (event names) measured no faster than a label object.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  private readonly webhooks = this.counter(
    'bridge_github_webhooks_received_total',
    'GitHub deliveries by event and outcome, counted when settled (on arrival for ping, unhandled, failed and duplicate; by the processor otherwise)',
    ['event', 'outcome'],
  );

  private readonly refusals = this.counter(
    'bridge_github_webhook_requests_refused_total',
    'Requests to POST /github/webhooks answered with an error, by status code (401 bad signature, 400, 413, 415, 503 database unavailable)',
    ['code'],
  );

  private readonly lag = this.histogram(
    'bridge_github_webhook_processing_lag_seconds',
    'From a delivery stored in the inbox to its outcome recorded by the processor',
    LAG_BUCKETS,
  );

  private readonly queuePending = this.gauge(
    'bridge_queue_pending_items',
    'Rows waiting: github_inbox (deliveries not yet processed), flowdock_outbox (messages not yet sent); absent when the database did not answer',
    ['queue'],
  );
  private readonly queueOldest = this.gauge(
    'bridge_queue_oldest_pending_age_seconds',
    'Age of the oldest waiting row of each queue (0 when none waits); absent when the database did not answer',
    ['queue'],
  );

  private readonly sends = this.counter(
    'bridge_flowdock_sends_total',
    'Messages posted to Flowdock, by the class of its answer (network: timeout or connection failure)',
    ['class'],
  );
  private readonly sendChildren: Record<SendClass, Counter.Internal>;
  private readonly retries = this.counter(
    'bridge_flowdock_retries_scheduled_total',
    'Failed sends scheduled for another attempt (429, 5xx, timeouts)',
  );
  private readonly deadLetters = this.counter(
    'bridge_flowdock_dead_letters_total',
    'Messages the delivery worker gave up on: refused (4xx), attempts_exhausted (FLOWDOCK_MAX_ATTEMPTS), source_disabled (410 Gone)',
    ['reason'],
  );
  private readonly sources = this.gauge(
    'bridge_flowdock_sources',
    'Flowdock sources paused by a Retry-After, or disabled by a 410 Gone; absent when the database did not answer',
    ['state'],
  );

  private readonly actions = this.counter(
    'bridge_actions_total',
    'Flowdock thread actions (verified clicks and actions clicked before linking) by action and outcome',
    ['action', 'outcome'],
  );
  private readonly actionDuration = this.histogram(
    'bridge_action_duration_seconds',
    'Time to answer a Flowdock thread action, by outcome',
    ACTION_BUCKETS,
    ['outcome'],
  );

  private readonly refreshes = this.counter(
    'bridge_github_token_refreshes_total',
    'Refreshes of expiring GitHub user tokens (failed: refused, or GitHub unreachable)',
    ['outcome'],
  );
  private readonly revocations = this.counter(
    'bridge_github_revocations_total',
    'GitHub authorizations found revoked: a github_app_authorization webhook (its links removed), or GitHub refusing a linked token with 401 (that link removed)',
    ['source'],
  );

  private readonly replies = this.counter(
    'bridge_flowdock_replies_total',
    "Replies heard in the bridge's Flowdock threads, by outcome: commented (on GitHub, as their author), awaiting_link (unlinked author), failed (GitHub refused), duplicate (heard again)",
    ['outcome'],
  );

  private readonly databaseUp = this.gauge(
    'bridge_database_up',
    'Whether the database answered the queries of this scrape (1) or not (0)',
  );

  private counter<L extends string = never>(name: string, help: string, labelNames: L[] = []) {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string = never>(name: string, help: string, labelNames: L[] = []) {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string = never>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: L[] = [],
  ) {
    return new Histogram({ name, help, buckets, labelNames, registers: [this.registry] });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.sendChildren = {
      '2xx': this.sends.labels('2xx'),
      '4xx': this.sends.labels('4xx'),
      '5xx': this.sends.labels('5xx'),
      network: this.sends.labels('network'),
    };
    // Every series exists from the start, so rate() and absence alerts work before the first event.
    for (const child of Object.values(this.sendChildren)) child.inc(0);
    for (const outcome of ['ok', 'failed']) this.refreshes.labels(outcome).inc(0);
    for (const source of ['webhook', 'token_refused']) this.revocations.labels(source).inc(0);
    for (const outcome of REPLY_OUTCOMES) this.replies.labels(outcome).inc(0);
  }

  /** A reply in a thread was handled (or posted once its author linked). */
  replyHandled(outcome: ReplyMetricOutcome, count = 1): void {
    if (count > 0) this.replies.labels(outcome).inc(count);
  }

  /** A GitHub delivery's outcome is known (called from the one place that logs it). */
  webhookSettled(event: string, outcome: string): void {
    // Event names are checked (/^[a-z_]{1,64}$/) and signed by GitHub: a bounded set.
    this.webhooks.inc({ event, outcome });
  }

  webhookRefused(statusCode: number): void {
    this.refusals.labels(String(statusCode)).inc();
  }

  webhookProcessed(lagSeconds: number): void {
    this.lag.observe(Math.max(0, lagSeconds));
  }

  flowdockSent(answer: SendClass): void {
    this.sendChildren[answer].inc();
  }

  flowdockRetryScheduled(): void {
    this.retries.inc();
  }

  flowdockDeadLettered(reason: DeadLetterReason, messages = 1): void {
    if (messages > 0) this.deadLetters.labels(reason).inc(messages);
  }

  actionDone(action: string, outcome: ActionOutcome, seconds: number): void {
    this.actions.labels(action, outcome).inc();
    this.actionDuration.labels(outcome).observe(seconds);
  }

  tokenRefreshed(outcome: RefreshOutcome): void {
    this.refreshes.labels(outcome).inc();
  }

  authorizationRevoked(source: RevocationSource): void {
    this.revocations.labels(source).inc();
  }

  /** The gauges read from the database at scrape time; without a sample they are left out. */
  databaseSampled(sample: DatabaseSample | null): void {
    this.databaseUp.set(sample ? 1 : 0);
    for (const gauge of [this.queuePending, this.queueOldest, this.sources]) gauge.reset();
    if (!sample) return;
    this.queuePending.labels('github_inbox').set(sample.inboxPending);
    this.queuePending.labels('flowdock_outbox').set(sample.outboxPending);
    this.queueOldest.labels('github_inbox').set(sample.inboxOldestSeconds);
    this.queueOldest.labels('flowdock_outbox').set(sample.outboxOldestSeconds);
    this.sources.labels('paused').set(sample.sourcesPaused);
    this.sources.labels('disabled').set(sample.sourcesDisabled);
  }

  /** The text exposition format, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
