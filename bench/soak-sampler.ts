import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchWorld } from './bench-world';
import { procKiB } from './measure';
import type { Backlog, SoakDatabase } from './soak-database';
import type { FlowdockChaos } from './soak-faults';
import type { ActionLoad, WebhookLoad } from './soak-load';
import { cpuSeconds, type LivenessProbe } from './soak-probe';

export interface Sample {
  /** Seconds since the load started. */
  t: number;
  phase: 'load' | 'drain';
  /** The bridge process's VmRSS. */
  rssMiB: number;
  /** The bridge process's CPU (user + system) over the window, % of one core. */
  bridgeCpuPercent: number;
  /** GET /health/live over the window: the stand-in for event-loop lag. */
  liveP50Ms: number | null;
  liveMaxMs: number | null;
  pendingDeliveries: number | null;
  pendingMessages: number | null;
  /** Pending deliveries + pending messages. */
  backlog: number | null;
  deadMessages: number | null;
  dbConnections: number | null;
  /** Webhooks answered per second over the window (any status). */
  webhooksPerSecond: number;
  webhookP99Ms: number | null;
  actionsPerSecond: number;
  actionP99Ms: number | null;
  /** Messages the Flowdock simulator accepted per second over the window. */
  deliveredPerSecond: number;
  /** This process's own event-loop delay p99 (it sends the load and runs the simulators). */
  soakLoopP99Ms: number;
  /** This process's CPU over the window, % of one core. */
  soakCpuPercent: number;
  /** The machine's 1-minute load average (2 cores, shared). */
  loadAverage: number;
  /** Why the backlog could not be read, if it could not. */
  error?: string;
}

export interface Running {
  world: BenchWorld;
  database: SoakDatabase;
  webhooks: WebhookLoad;
  actions: ActionLoad;
  chaos: FlowdockChaos;
  probe: LivenessProbe;
}

/** One sample: the bridge's memory, liveness latency and backlog, and the traffic since the last. */
export function sampler(run: Running, loadStarted: number) {
  const pid = run.world.process.child.pid!;
  let last = performance.now();
  let lastDelivered = 0;
  let lastCpu = cpuSeconds(pid);
  let lastOwnCpu = cpuSeconds(process.pid);
  // This process's own loop (load generator, simulators): its delays also lengthen the liveness probe.
  const ownLoop = monitorEventLoopDelay({ resolution: 10 });
  ownLoop.enable();
  return async (phase: 'load' | 'drain'): Promise<Sample> => {
    const now = performance.now();
    const seconds = (now - last) / 1000;
    last = now;
    const cpu = cpuSeconds(pid);
    const bridgeCpuPercent = Math.round(((cpu - lastCpu) / seconds) * 100);
    lastCpu = cpu;
    const ownCpu = cpuSeconds(process.pid);
    const soakCpuPercent = Math.round(((ownCpu - lastOwnCpu) / seconds) * 100);
    lastOwnCpu = ownCpu;
    const soakLoopP99Ms = Math.round(ownLoop.percentile(99) / 1e6);
    ownLoop.reset();
    let backlog: Backlog | undefined;
    let error: string | undefined;
    try {
      backlog = await run.database.backlog();
    } catch (e) {
      error = (e as Error).message;
    }
    const live = run.probe.stats.takeWindow();
    const webhooks = run.webhooks.stats.takeWindow();
    const actions = run.actions.stats.takeWindow();
    const delivered = run.chaos.accepted - lastDelivered;
    lastDelivered = run.chaos.accepted;
    const perSecond = (n: number) => Math.round((n / seconds) * 10) / 10;
    return {
      t: Math.round((now - loadStarted) / 100) / 10,
      phase,
      rssMiB: Math.round(procKiB(pid, 'status', 'VmRSS') / 102.4) / 10,
      bridgeCpuPercent,
      liveP50Ms: live.p50Ms,
      liveMaxMs: live.maxMs,
      pendingDeliveries: backlog?.pendingDeliveries ?? null,
      pendingMessages: backlog?.pendingMessages ?? null,
      backlog: backlog ? backlog.pendingDeliveries + backlog.pendingMessages : null,
      deadMessages: backlog?.deadMessages ?? null,
      dbConnections: backlog?.connections ?? null,
      webhooksPerSecond: perSecond(webhooks.count),
      webhookP99Ms: webhooks.p99Ms,
      actionsPerSecond: perSecond(actions.count),
      actionP99Ms: actions.p99Ms,
      deliveredPerSecond: perSecond(delivered),
      soakLoopP99Ms,
      soakCpuPercent,
      loadAverage: Math.round(loadavg()[0] * 10) / 10,
      ...(error ? { error } : {}),
    };
  };
}
