/**
 * A literal AdapterHost for the WhatsApp adapter's tests: records what is ingested and logged,
 * runs connections with the host's real `holdConnection` (short backoff), counts delivery routes.
 */
import type { AdapterHost, IngestOutcome, Leadership } from '../../../src/core/adapter.js';
import type { InboundMessage } from '../../../src/core/inbound.js';
import { holdConnection } from '../../../src/host/hold-connection.js';
import { WhatsAppAdapterConfig } from '../../../adapters/whatsapp/config.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export interface LiteralHost {
  host: AdapterHost;
  ingested: InboundMessage[];
  logs: LogLine[];
  fatals: Error[];
  /** Delivery routes open now, and how many were ever opened. */
  routes: { open: number; opened: number };
  /** Decides each ingest's outcome (default: enqueued). */
  outcome: (m: InboundMessage) => IngestOutcome | Promise<IngestOutcome>;
}

export function literalHost(options: { leadership?: Leadership; backoffMs?: { initial: number; max: number } } = {}): LiteralHost {
  const t: LiteralHost = {
    ingested: [],
    logs: [],
    fatals: [],
    routes: { open: 0, opened: 0 },
    outcome: () => 'enqueued',
    host: undefined as never,
  };
  const log = (level: LogLine['level']) => (obj: object, msg?: string) => void t.logs.push({ level, obj, msg });
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  t.host = {
    async ingest(message) {
      const outcome = await t.outcome(message);
      if (outcome !== 'retry') t.ingested.push(message);
      return outcome;
    },
    deliver() {
      t.routes.open++;
      t.routes.opened++;
      let stopped = false;
      return () => {
        if (!stopped) t.routes.open--;
        stopped = true;
      };
    },
    identify() {},
    holdConnection: (connect, stop) =>
      holdConnection({ name: 'whatsapp:test', logger, backoffMs: options.backoffMs ?? { initial: 20, max: 200 }, ...(options.leadership ? { leadership: options.leadership } : {}) }, connect, stop),
    logger,
    commands: {},
    onFatal: (err) => void t.fatals.push(err),
  };
  return t;
}

/** A validated whatsapp entry (defaults filled in) with overrides. */
export function whatsappConfig(extra: Record<string, unknown> = {}): WhatsAppAdapterConfig {
  return WhatsAppAdapterConfig.parse({
    platform: 'whatsapp',
    id: 'wa-test',
    agent: 'default',
    enabled: true,
    allowed_users: [],
    unknown_user_policy: 'allow',
    group_policy: 'mention_only',
    send_interval_ms: 0,
    ...extra,
  });
}
