import type { BenchWorld } from './bench-world';
import type { DeliveryRow, MessageRow } from './soak-database';
import type { FlowdockChaos } from './soak-faults';
import type { ActionLoad, WebhookLoad } from './soak-load';
import type { LivenessProbe, LogSummary } from './soak-probe';
import type { Sample } from './soak-sampler';
import { atMost, Check, slope, verdict } from './soak-verdict';

const increment = (counts: Record<string, number>, key: string) =>
  (counts[key] = (counts[key] ?? 0) + 1);

/**
 * What became of the load, from three sides: what the load generator was
 * answered, what the bridge recorded (every delivery's outcome, every outbox
 * message's status) and what the Flowdock simulator accepted (by uuid).
 */
export function account(
  run: {
    world: BenchWorld;
    webhooks: WebhookLoad;
    actions: ActionLoad;
    chaos: FlowdockChaos;
    probe: LivenessProbe;
  },
  input: {
    deliveries: Map<string, DeliveryRow>;
    messages: MessageRow[];
    soakRepository: string;
    itemsOpened: number;
    githubSlowSpells: number;
    log: LogSummary;
  },
) {
  const { webhooks, actions, chaos, probe } = run;

  // Accepted webhooks in the bridge's inbox: each should be published with one message.
  const outcomes: Record<string, number> = {};
  let notRecorded = 0;
  let notProcessed = 0;
  let notPublished = 0;
  let webhookMessages = 0;
  for (const id of webhooks.accepted) {
    const row = input.deliveries.get(id);
    if (!row) {
      notRecorded++;
      continue;
    }
    increment(outcomes, row.outcome ?? 'pending');
    if (row.outcome === null) notProcessed++;
    else if (row.outcome !== 'published' || row.messages < 1) notPublished++;
    webhookMessages += row.messages;
  }

  // The outbox: rows by thread (the webhooks' repository or the actions'), and their fate.
  const webhookThread = `github:${input.soakRepository}:`;
  const actionThread = `github:${run.world.repository}:`;
  const statuses: Record<string, number> = {};
  const lastErrors: Record<string, number> = {};
  const attempts = new Map<string, number>();
  let webhookRows = 0;
  let actionRows = 0;
  let notDelivered = 0;
  for (const m of input.messages) {
    attempts.set(m.uuid, m.attempts);
    increment(statuses, m.status);
    if (m.externalThreadId.startsWith(webhookThread)) webhookRows++;
    else if (m.externalThreadId.startsWith(actionThread)) actionRows++;
    // Pending is late, not lost (the drain check covers it); dead, or "sent" yet never accepted, is lost.
    if (m.status === 'dead' || (m.status === 'sent' && !chaos.uuids.has(m.uuid))) {
      notDelivered++;
      increment(lastErrors, (m.lastError ?? '').slice(0, 120).replace(/\d+/g, 'N'));
    }
  }

  // The simulator: uuids it accepted more than once, or that the outbox never held.
  let duplicates = 0;
  let unknown = 0;
  for (const [uuid, n] of chaos.uuids) {
    if (n > 1) duplicates++;
    if (!attempts.has(uuid)) unknown++;
  }

  const missingWebhookRows = Math.max(0, webhookMessages - webhookRows);
  const missingActionRows = Math.max(0, actions.changed - actionRows);
  const lost = notRecorded + notPublished + missingWebhookRows + missingActionRows + notDelivered;
  return {
    webhooks: {
      sent: webhooks.stats.sent,
      accepted: webhooks.accepted.length,
      answeredDuplicate: webhooks.duplicates,
      statuses: webhooks.stats.statuses,
      unanswered: webhooks.stats.unanswered,
      skipped: webhooks.skipped,
      late: webhooks.late,
      problems: webhooks.stats.problems,
      itemsOpened: input.itemsOpened,
    },
    deliveries: { outcomes, notRecorded, notProcessed, notPublished, messages: webhookMessages },
    actions: {
      sent: actions.stats.sent,
      statuses: actions.stats.statuses,
      unanswered: actions.stats.unanswered,
      skipped: actions.skipped,
      late: actions.late,
      changedAssignees: actions.changed,
      problems: actions.stats.problems,
      githubSlowSpells: input.githubSlowSpells,
    },
    outbox: {
      rows: input.messages.length,
      statuses,
      webhookRows,
      actionRows,
      otherRows: input.messages.length - webhookRows - actionRows,
      lostLastErrors: lastErrors,
    },
    simulator: {
      accepted: chaos.accepted,
      distinctUuids: chaos.uuids.size,
      uuidsAcceptedMoreThanOnce: duplicates,
      uuidsNotInOutbox: unknown,
      faultsApplied: chaos.applied,
      faultsStillQueued: chaos.pending,
      // With the bridge's attempts: 1 means it never saw the first post fail.
      repeats: chaos.repeats.map((r) => ({ ...r, attempts: attempts.get(r.uuid) ?? null })),
      rateLimitWaits: chaos.rateLimitWaits,
      postedDuringRetryAfter: chaos.postedDuringRetryAfter,
    },
    liveness: {
      probes: probe.stats.sent,
      statuses: probe.stats.statuses,
      unanswered: probe.stats.unanswered,
    },
    lost: {
      total: lost,
      notRecorded,
      notPublished,
      missingWebhookRows,
      missingActionRows,
      notDelivered,
    },
    /** Still waiting when the drain ended (late, not lost: the drain check fails then). */
    stillPending: { deliveries: notProcessed, messages: statuses.pending ?? 0 },
    duplicates,
    serverErrors:
      webhooks.stats.serverErrors + actions.stats.serverErrors + probe.stats.serverErrors,
    unanswered:
      webhooks.stats.unanswered +
      webhooks.skipped +
      actions.stats.unanswered +
      actions.skipped +
      probe.stats.unanswered,
    bridgeLog: input.log,
  };
}

export type Counts = ReturnType<typeof account>;

const round = (n: number, digits = 1) =>
  Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null;

/** The summary and the verdict of a run. */
export function judge(
  settings: {
    warmSeconds: number;
    drainSeconds: number;
    backlogSlopeLimitPerMinute: number;
    rssSlopeLimitMiBPerMinute: number;
    deliveryPlaces: number;
  },
  samples: Sample[],
  counts: Counts,
  run: { loadSeconds: number; drainSeconds: number | null; bridgeUp: boolean; startRssMiB: number },
) {
  const load = samples.filter((s) => s.phase === 'load');
  // Short runs (development) take the second half instead of "after the first minute".
  const warm = Math.min(settings.warmSeconds, run.loadSeconds / 2);
  const warmed = load.filter((s) => s.t >= warm);
  const secondHalf = load.filter((s) => s.t >= run.loadSeconds / 2 && s.backlog !== null);
  const rssSlope = slope(warmed.map((s) => ({ x: s.t / 60, y: s.rssMiB })));
  const backlogSlope = slope(secondHalf.map((s) => ({ x: s.t / 60, y: s.backlog! })));
  const backlogs = (list: Sample[]) => Math.max(0, ...list.map((s) => s.backlog ?? 0));
  const lives = load.map((s) => s.liveMaxMs ?? 0);

  const checks: Record<string, Check> = {
    lost: atMost(
      counts.lost.total,
      0,
      'accepted webhooks and actions whose message will not reach the simulator (dead, missing, not published)',
    ),
    duplicates: atMost(counts.duplicates, 0, 'uuids the simulator accepted more than once'),
    bridge5xx: atMost(counts.serverErrors, 0, 'answers >= 500 to webhooks, actions, /health/live'),
    unanswered: atMost(counts.unanswered, 0, 'requests without an answer within 30 s, or skipped'),
    refusedPerRateLimitWait: atMost(
      counts.simulator.rateLimitWaits === 0
        ? 0
        : counts.simulator.faultsApplied['429'] / counts.simulator.rateLimitWaits,
      settings.deliveryPlaces,
      '429s per wait the rate limiter asked for: a bridge that waits is refused only the posts already on their way (at most one per place of its delivery worker); one that kept posting, hundreds',
    ),
    rssSlopeMiBPerMinute: atMost(
      rssSlope,
      settings.rssSlopeLimitMiBPerMinute,
      `least squares over the load's samples from ${round(warm, 0)} s`,
    ),
    backlogSlopePerMinute: atMost(
      backlogSlope,
      settings.backlogSlopeLimitPerMinute,
      'pending deliveries + messages, least squares over the second half of the load',
    ),
    drainSeconds: atMost(
      run.drainSeconds,
      settings.drainSeconds,
      `end of load to an empty backlog (null: ${counts.stillPending.deliveries} deliveries and ${counts.stillPending.messages} messages still pending)`,
    ),
    bridgeRunning: { pass: run.bridgeUp, value: run.bridgeUp, limit: true },
  };
  const summary = {
    loadSeconds: round(run.loadSeconds),
    rssStartMiB: round(run.startRssMiB),
    rssAfterWarmUpMiB: warmed[0]?.rssMiB ?? null,
    rssEndOfLoadMiB: load.at(-1)?.rssMiB ?? null,
    rssPeakMiB: Math.max(...samples.map((s) => s.rssMiB)),
    rssSlopeMiBPerMinute: round(rssSlope, 3),
    backlogMax: backlogs(load),
    backlogMaxAfterWarmUp: backlogs(warmed),
    backlogMaxFirstHalf: backlogs(load.filter((s) => s.t < run.loadSeconds / 2)),
    backlogMaxSecondHalf: backlogs(secondHalf),
    backlogSlopePerMinute: round(backlogSlope, 2),
    livenessMaxMs: Math.max(0, ...lives),
    dbConnectionsMax: Math.max(0, ...samples.map((s) => s.dbConnections ?? 0)),
    webhooksAccepted: counts.webhooks.accepted,
    actionsPerformed: counts.actions.statuses['200'] ?? 0,
    messagesAtSimulator: counts.simulator.distinctUuids,
    rateLimitWaits: counts.simulator.rateLimitWaits,
    postedDuringRetryAfter: counts.simulator.postedDuringRetryAfter,
    faultsApplied: Object.entries(counts.simulator.faultsApplied)
      .map(([kind, n]) => `${kind}: ${n}`)
      .join(', '),
    lost: counts.lost.total,
    duplicates: counts.duplicates,
    bridge5xx: counts.serverErrors,
    drainSeconds: run.drainSeconds === null ? null : round(run.drainSeconds),
    // Harness health: a starved bench process delays the simulators' answers too.
    generatorLate: counts.webhooks.late + counts.actions.late,
    soakLoopP99MaxMs: Math.max(0, ...load.map((s) => s.soakLoopP99Ms)),
    loadAverageMax: Math.max(0, ...samples.map((s) => s.loadAverage)),
    bridgeWarnings: counts.bridgeLog.warnings,
    bridgeErrors: counts.bridgeLog.errors,
  };
  return { summary, counts, verdict: verdict(checks) };
}
