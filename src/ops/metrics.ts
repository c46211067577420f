/**
 * The Prometheus metrics of one process: built once per long-running role (`new Metrics()`) and
 * passed down to whatever records into it — never a global registry, so two hosts in one test
 * process keep separate counts. Names carry the `bothost_` prefix and their unit; counters end
 * in `_total`. Labels are bounded sets (agent, bot, platform, outcome, stage): a session or user
 * id never becomes a label.
 *
 * Values read at scrape time (queue depths, open connections) are registered as sources
 * (`watchQueue`, `watchConnections`): nothing polls between scrapes.
 */
import { createRequire } from 'node:module';
import { Counter, Gauge, Registry } from 'prom-client';
import { LabelledCounter, LabelledHistogram, type HistogramRecord } from './labelled-series.js';

/** How a turn ended, as `bothost_turns_total{outcome}` counts it. */
export type TurnOutcome = 'ok' | 'failed' | 'duplicate' | 'timeout' | 'lease_lost';
/** Stages of `bothost_turn_duration_seconds{stage}`: `total` is started → committed. */
export type TurnStage = 'queue_wait' | 'model' | 'commit' | 'delivery' | 'total';
export type InboundOutcome = 'enqueued' | 'duplicate' | 'denied' | 'ignored' | 'command' | 'retry';
export type SendOutcome = 'ok' | 'plain_fallback' | 'failed';
/** `bothost_model_tokens_total{kind}`: prompt (input) and completion (output) tokens, as the provider reports them. */
export type TokenKind = 'input' | 'output';

/** Queue depths read from Redis when scraped (see queue-gauges.ts). */
export interface QueueDepths {
  waiting: number;
  active: number;
  deadLetters: number;
  /** How long the oldest turn waiting in any session inbox has waited (0: none waiting). */
  oldestWaitingSeconds: number;
  /** Per bot: replies in its outbox not yet sent (unread by any ingress process, or being sent). */
  outboxPending: ReadonlyArray<{ bot: string; pending: number }>;
}

const TURN_OUTCOMES: readonly TurnOutcome[] = ['ok', 'failed', 'duplicate', 'timeout', 'lease_lost'];
const TURN_STAGES: readonly TurnStage[] = ['queue_wait', 'model', 'commit', 'delivery', 'total'];

/**
 * One agent's per-turn records, found with one Map lookup by agent id and then by index: no key
 * string is built per record. A slot is filled on first use, so a series appears once it has a value.
 */
interface AgentRecords {
  outcomes: Array<{ value: number } | undefined>;
  stages: Array<HistogramRecord | undefined>;
}

/**
 * prom-client's default process metrics (`process_*`, `nodejs_*`, read at scrape time), less
 * `nodejs_gc_duration_seconds`: that one observes every garbage collection as it happens (a
 * PerformanceObserver callback and a labelled histogram observe per GC), which under turn load
 * was the largest single cost of having metrics on. prom-client has no switch for it, so its
 * collectors are registered one by one (prom-client 15 lays them out under lib/metrics/).
 */
const promRequire = createRequire(import.meta.url);
const PROCESS_COLLECTORS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  ...(typeof (process as { getActiveResourcesInfo?: unknown }).getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
];

function collectProcessMetrics(registry: Registry): void {
  const config = { register: registry, eventLoopMonitoringPrecision: 10 };
  for (const name of PROCESS_COLLECTORS) (promRequire(`prom-client/lib/metrics/${name}`) as (r: Registry, c: object) => void)(registry, config);
}

/** Seconds buckets from 5 ms to 2 min: an echo turn is milliseconds, a slow model a minute. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class Metrics {
  readonly registry = new Registry();
  // The per-turn and per-message series: see labelled-series.ts for why not prom-client's own.
  private readonly turns = new LabelledCounter('bothost_turns_total', 'Agent turns by how they ended', this.registry);
  private readonly durations = new LabelledHistogram(
    'bothost_turn_duration_seconds',
    'Time spent per turn stage: queue_wait (accepted → started), model (the model call), commit (the commit round trip), delivery (committed → sent to the platform), total (started → committed)',
    DURATION_BUCKETS,
    this.registry,
  );
  private readonly tokens = new LabelledCounter('bothost_model_tokens_total', 'Model tokens used, by agent and kind (input: prompt, output: completion), as the provider reports them', this.registry);
  private readonly inbounds = new LabelledCounter('bothost_inbound_total', 'Inbound platform messages by what ingress did with them', this.registry);
  private readonly sends = new LabelledCounter('bothost_sends_total', 'Platform send calls of replies and notices', this.registry);
  private readonly leaseTakeovers = new Counter({ name: 'bothost_lease_takeovers_total', help: 'Connection leases (leadership of single-connection bots) this process acquired', labelNames: ['bot'] as const, registers: [this.registry] });
  private readonly fenceRejections = new Counter({ name: 'bothost_fence_rejections_total', help: 'Commits refused because a newer lease holder exists (stale fence)', registers: [this.registry] });
  private readonly rateLimits = new Counter({ name: 'bothost_platform_rate_limited_total', help: 'Platform calls answered with a rate limit (HTTP 429)', labelNames: ['platform'] as const, registers: [this.registry] });
  private readonly spools = new Counter({ name: 'bothost_inbound_spooled_total', help: 'Inbound messages of platforms that do not redeliver, spooled on local disk because the queue did not take them', labelNames: ['bot'] as const, registers: [this.registry] });
  private readonly spoolForwards = new Counter({ name: 'bothost_spool_forwarded_total', help: 'Spooled inbound messages handed to the queue', labelNames: ['bot'] as const, registers: [this.registry] });
  private readonly reconnects = new Counter({ name: 'bothost_adapter_reconnects_total', help: 'Platform connections retried after a failure', labelNames: ['platform', 'bot'] as const, registers: [this.registry] });

  /**
   * prom-client's process metrics keep their standard names (`process_cpu_seconds_total`,
   * `nodejs_heap_size_used_bytes`) so stock dashboards work; `defaults: false` leaves them out.
   */
  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults !== false) collectProcessMetrics(this.registry);
  }

  private readonly agents = new Map<string, AgentRecords>();

  private agentRecords(agent: string): AgentRecords {
    let r = this.agents.get(agent);
    if (r === undefined) {
      r = { outcomes: new Array(TURN_OUTCOMES.length).fill(undefined), stages: new Array(TURN_STAGES.length).fill(undefined) };
      this.agents.set(agent, r);
    }
    return r;
  }

  turnEnded(agent: string, outcome: TurnOutcome): void {
    const slots = this.agentRecords(agent).outcomes;
    const i = TURN_OUTCOMES.indexOf(outcome);
    (slots[i] ??= this.turns.child(`${agent}\0${outcome}`, () => ({ agent, outcome }))).value++;
  }

  stageTook(agent: string, stage: TurnStage, seconds: number): void {
    if (!(seconds >= 0 && seconds < Infinity)) return;
    const slots = this.agentRecords(agent).stages;
    const i = TURN_STAGES.indexOf(stage);
    this.durations.observeInto((slots[i] ??= this.durations.child(`${agent}\0${stage}`, () => ({ agent, stage }))), seconds);
  }

  tokensUsed(agent: string, kind: TokenKind, count: number): void {
    if (Number.isFinite(count) && count > 0) this.tokens.inc(`${agent}\0${kind}`, () => ({ agent, kind }), count);
  }

  inbound(platform: string, bot: string, outcome: InboundOutcome): void {
    this.inbounds.inc(`${platform}\0${bot}\0${outcome}`, () => ({ platform, bot, outcome }));
  }

  sent(platform: string, bot: string, outcome: SendOutcome): void {
    this.sends.inc(`${platform}\0${bot}\0${outcome}`, () => ({ platform, bot, outcome }));
  }

  leaseTakenOver(bot: string): void {
    this.leaseTakeovers.inc({ bot });
  }

  fenceRejected(): void {
    this.fenceRejections.inc();
  }

  adapterReconnected(platform: string, bot: string): void {
    this.reconnects.inc({ platform, bot });
  }

  spooled(bot: string): void {
    this.spools.inc({ bot });
  }

  spoolForwarded(bot: string): void {
    this.spoolForwards.inc({ bot });
  }

  platformRateLimited(platform: string): void {
    this.rateLimits.inc({ platform });
  }

  /** `bothost_gateway_connections`, read from `count()` at each scrape. */
  watchConnections(count: () => number): void {
    new Gauge({ name: 'bothost_gateway_connections', help: 'Open WebSocket connections of this gateway', registers: [this.registry], collect() {
      this.set(count());
    } });
  }

  /**
   * `bothost_queue_waiting`, `bothost_queue_active`, `bothost_dead_letters`,
   * `bothost_oldest_waiting_seconds` and `bothost_outbox_pending{bot}`, read by `read()` once per
   * scrape (one read shared by the five).
   */
  watchQueue(read: () => Promise<QueueDepths>): void {
    let pending: Promise<QueueDepths> | undefined;
    // The three gauges are collected in one scrape: share one read between them.
    const once = () => {
      pending ??= read().finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
    const gauge = (name: string, help: string, pick: (d: QueueDepths) => number) =>
      new Gauge({ name, help, registers: [this.registry], async collect() {
        this.set(pick(await once()));
      } });
    gauge('bothost_queue_waiting', 'Kick jobs waiting for a worker (sessions with turns to run)', (d) => d.waiting);
    gauge('bothost_queue_active', 'Kick jobs being run by a worker (sessions being drained)', (d) => d.active);
    gauge('bothost_dead_letters', 'Turns that failed for good, kept for `bot queue dead`', (d) => d.deadLetters);
    gauge('bothost_oldest_waiting_seconds', 'Age of the oldest turn waiting in any session inbox (0 when none waits)', (d) => d.oldestWaitingSeconds);
    new Gauge({
      name: 'bothost_outbox_pending',
      help: "Replies in a bot's outbox not yet sent: unread by any ingress process, or read and being sent",
      labelNames: ['bot'] as const,
      registers: [this.registry],
      async collect() {
        const { outboxPending } = await once();
        this.reset();
        for (const o of outboxPending) this.set({ bot: o.bot }, o.pending);
      },
    });
  }

  /** `bothost_spool_depth{bot}`: spooled messages not yet in the queue, read from `depths()` at each scrape. */
  watchSpool(depths: () => ReadonlyArray<{ bot: string; depth: number }>): void {
    new Gauge({ name: 'bothost_spool_depth', help: 'Inbound messages spooled on local disk by this process and not yet handed to the queue', labelNames: ['bot'] as const, registers: [this.registry], collect() {
      this.reset();
      for (const d of depths()) this.set({ bot: d.bot }, d.depth);
    } });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
