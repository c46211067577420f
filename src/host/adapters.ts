/**
 * Platform adapters from the host's side: validating a bots[] entry with its platform's schema
 * (errors name `bots.yaml:LINE: bots[i].key`), why an entry cannot run, and running one bot — the
 * per-bot `AdapterHost` (its ingress policy by bot id, the streaming delivery around the
 * adapter's outbound, leadership for single-connection platforms).
 */
import { botPolicyOf, type AdapterCapabilities, type AdapterDefinition, type AdapterHost, type BotPolicy, type CommonBotConfig, type IngestOutcome, type LeadershipSource, type PlatformAdapter } from '../core/adapter.js';
import { BotHostError, ConfigError } from '../core/errors.js';
import type { KeyValueSource } from '../core/key-value.js';
import type { SessionLog } from '../core/session-store.js';
import type { LoadedConfig } from '../config/load.js';
import { parseSection } from '../config/parse-section.js';
import { COMMANDS } from '../ingress/commands.js';
import { isPlatform, loadDefinition } from './catalog.js';
import { holdConnection } from './hold-connection.js';
import type { Host } from './host.js';
import { processSecrets, type Logger } from './logger.js';
import { isQueueRefusal } from './queue-refusal.js';
import { collectSecrets } from './secrets.js';
import type { Metrics } from '../ops/metrics.js';
import { deliveryTimer } from './metrics.js';
import { StreamingDelivery } from './streaming-delivery.js';

export type BotEntry = LoadedConfig['config']['bots'][number];


/** A bots[] entry validated by its platform's schema, ready to run. */
export interface CheckedBot {
  readonly botId: string;
  readonly definition: AdapterDefinition;
  readonly config: CommonBotConfig;
}

/** Where an entry is, for messages: `bots[2] in bots.yaml`, or `a discord entry in bots.yaml`. */
export function entryLocation(loaded: Pick<LoadedConfig, 'file'>, platform: string, index: number): string {
  const file = loaded.file ?? 'bots.yaml';
  return index >= 0 ? `bots[${index}] in ${file}` : `a ${platform} entry in ${file}`;
}

/**
 * Why bots[index] will not run, or null if it can: disabled, a platform this build lacks, a
 * `${VAR}` left unset, or what the platform's `missing` says (no token, device not linked).
 */
export async function skipReason(loaded: LoadedConfig, index: number, entry: BotEntry = loaded.config.bots[index]!): Promise<string | null> {
  if (!entry.enabled) return 'disabled in bots.yaml (enabled: false)';
  if (!isPlatform(entry.platform)) return `the ${entry.platform} adapter is not part of this build`;
  const definition = await loadDefinition(entry.platform);
  for (const key of Object.keys(definition.env)) {
    const unset = loaded.missingEnv[`bots[${index}].${key}`];
    if (unset && (entry as Record<string, unknown>)[key] === undefined) return `${unset} not set`;
  }
  return definition.missing(entry as Record<string, unknown>, entryLocation(loaded, entry.platform, index));
}

/**
 * Validates `entry` (bots[index], possibly with credentials filled in from the environment) with
 * its platform's schema. Throws ConfigError naming the line. Nothing connects yet.
 */
export async function checkBotEntry(loaded: LoadedConfig, index: number, entry: BotEntry): Promise<CheckedBot> {
  const definition = await loadDefinition(entry.platform);
  const config = parseSection(loaded, ['bots', Math.max(index, 0)], definition.schema, entry) as CommonBotConfig;
  return { botId: entry.id, definition, config };
}

export interface BotDependencies {
  host: Host;
  logger: Logger;
  leadership?: LeadershipSource;
  /** Told when the bot stopped for good after starting (token revoked, logged out). */
  onFatal?: (err: Error) => void;
  /** This process's metrics: ingress outcomes, sends, reconnects, connection leases. */
  metrics?: Metrics;
}

/** One configured bot: its adapter and the host's side of it. */
export interface RunningBot {
  readonly botId: string;
  readonly adapter: PlatformAdapter;
  readonly capabilities: AdapterCapabilities;
  /** Stops receiving, then waits for the sends in flight. Replies of turns still running keep flowing. Safe to call twice. */
  stop(): Promise<void>;
}

/** Creates the bot's adapter with its own AdapterHost (nothing connects until `adapter.start()`). */
export async function createBot(checked: CheckedBot, deps: BotDependencies): Promise<RunningBot> {
  const { definition, config } = checked;
  const capabilities = definition.capabilities(config);
  // The bot's credentials join the process's redactor here too, so every log line is clean even
  // when the bot was not configured through the CLI (library use).
  processSecrets.add(collectSecrets(config));
  const logger = deps.logger.child({ bot: config.id, platform: definition.platform });
  const policy: BotPolicy = botPolicyOf(config, deps.host.config.session.scope);
  const leadership = chooseLeadership(config, capabilities, deps.leadership);
  let streaming: StreamingDelivery | undefined;
  const delivery = () => {
    if (!streaming) throw new BotHostError('ADAPTER_NOT_READY', `the ${definition.platform} adapter of bot "${config.id}" used its host before create() returned`);
    return streaming;
  };

  const adapterHost: AdapterHost = {
    async ingest(message, options = {}): Promise<IngestOutcome> {
      const rules = options.scope ? { ...policy, scope: options.scope } : policy;
      const answer = (text: string) => {
        // Command answers go out in the background: a platform acknowledgement never waits for them.
        if (message.address !== undefined) void delivery().notice(message.address, text, `${message.botId}|${message.messageId}`);
        return Promise.resolve();
      };
      let outcome: IngestOutcome | undefined;
      try {
        outcome = await deps.host.ingest(rules, message, answer, { spool: capabilities.redelivers === false });
      } catch (err) {
        // The queue did not take it (nor the spool, for platforms that do not redeliver): no acknowledgement.
        if (!isQueueRefusal(err)) throw err;
        const next = capabilities.redelivers === false ? 'the adapter offers it again' : 'the platform will deliver it again';
        logger.warn({ message: message.messageId, err: (err as Error).message }, `message not accepted (queue unavailable); ${next}`);
        deps.metrics?.inbound(definition.platform, config.id, 'retry');
        return 'retry';
      }
      if (outcome === 'enqueued') delivery().ingested({ sessionId: '', agent: rules.agent, inbound: message });
      deps.metrics?.inbound(definition.platform, config.id, outcome ?? 'ignored');
      return outcome ?? 'ignored';
    },
    deliver: () => deps.host.delivery.register(config.id, delivery()),
    identify(account) {
      if (account.username) policy.username = account.username;
    },
    holdConnection: (connect, stop) => holdConnection({ name: `${definition.platform}:${config.id}`, logger, ...(leadership ? { leadership } : {}), ...(deps.metrics ? { onEvent: connectionEventRecorder(deps.metrics, definition.platform, config.id) } : {}) }, connect, stop),
    logger,
    commands: COMMANDS,
    ...(deps.onFatal ? { onFatal: deps.onFatal } : {}),
    rateLimited: () => deps.metrics?.platformRateLimited(definition.platform),
    ...(deps.host.store.keyValue ? { keyValue: botKeyValue(deps.host.store, config.id) } : {}),
  };

  const adapter = await definition.create(config, adapterHost);
  const metrics = deps.metrics;
  streaming = new StreamingDelivery({
    outbound: adapter.outbound,
    capabilities,
    logger,
    announce: (request, first) => deps.host.delivery.announce(request, first),
    ...(metrics ? { onSend: (outcome) => metrics.sent(definition.platform, config.id, outcome), onDelivered: deliveryTimer(metrics) } : {}),
  });
  let stopped: Promise<void> | undefined;
  return {
    botId: config.id,
    adapter,
    capabilities,
    stop() {
      stopped ??= (async () => {
        await adapter.stop();
        await streaming.idle();
      })();
      return stopped;
    },
  };
}

function connectionEventRecorder(metrics: Metrics, platform: string, botId: string) {
  return (event: 'lease' | 'reconnect') => (event === 'lease' ? metrics.leaseTakenOver(botId) : metrics.adapterReconnected(platform, botId));
}

/** A bot's key-value namespaces, apart from every other bot's. */
export function botKeyValue(store: Pick<SessionLog, 'keyValue'>, botId: string): KeyValueSource {
  return (namespace) => store.keyValue!(`bot:${botId}:${namespace}`);
}

function chooseLeadership(config: CommonBotConfig, capabilities: AdapterCapabilities, source: LeadershipSource | undefined) {
  const mode = config.leader ?? 'auto';
  if (!capabilities.singleConnection || mode === 'none') return undefined;
  if (mode === 'redis' && !source) {
    throw new ConfigError(`bot "${config.id}" has leader: redis but no Redis is configured: set queue.redis_url (or a redis store) in bots.yaml, or REDIS_URL`, 'leader');
  }
  if (!source || (mode === 'auto' && !source.configured)) return undefined;
  return source.open(config.leader_ttl_ms !== undefined ? { ttlMs: config.leader_ttl_ms } : {});
}
