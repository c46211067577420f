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
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LabelledCounter, LabelledHistogram } from './labelled-series.js';

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
  private readonly reconnects = new Counter({ name: 'bothost_adapter_reconnects_total', help: 'Platform connections retried after a failure', labelNames: ['platform', 'bot'] as const, registers: [this.registry] });

  /**
   * prom-client's process metrics keep their standard names (`process_cpu_seconds_total`,
   * `nodejs_heap_size_used_bytes`) so stock dashboards work; `defaults: false` leaves them out.
   */
  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry });
  }

  turnEnded(agent: string, outcome: TurnOutcome): void {
    this.turns.inc(`${agent}\0${outcome}`, () => ({ agent, outcome }));
  }

  stageTook(agent: string, stage: TurnStage, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.durations.observe(`${agent}\0${stage}`, () => ({ agent, stage }), seconds);
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

  /** `bothost_gateway_connections`, read from `count()` at each scrape. */
  watchConnections(count: () => number): void {
    new Gauge({ name: 'bothost_gateway_connections', help: 'Open WebSocket connections of this gateway', registers: [this.registry], collect() {
      this.set(count());
    } });
  }

  /**
   * `bothost_queue_waiting`, `bothost_queue_active` and `bothost_dead_letters`, read by `read()`
   * once per scrape (one Redis round trip shared by the three).
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
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
