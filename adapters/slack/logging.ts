/**
 * Logging for the Slack adapter: every line (ours, bolt's, the Socket Mode client's) goes through
 * a redactor that removes the bot token, the app token and the signing secret from any text, and
 * carries the bot id. bolt's loggers are given the same sink, at warn level unless the host logs
 * at debug (bolt's debug lines include whole request bodies).
 */
import type { AdapterLogger } from '../../src/core/adapter.js';

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[redacted]');
  return out;
}

export function redactingLogger(logger: AdapterLogger, secrets: readonly string[], botId: string): AdapterLogger {
  const clean = (obj: object): object => JSON.parse(redactSecrets(JSON.stringify({ bot: botId, ...obj }), secrets)) as object;
  const text = (m: string | undefined) => (m === undefined ? undefined : redactSecrets(m, secrets));
  return {
    debug: (o, m) => logger.debug(clean(o), text(m)),
    info: (o, m) => logger.info(clean(o), text(m)),
    warn: (o, m) => logger.warn(clean(o), text(m)),
    error: (o, m) => logger.error(clean(o), text(m)),
  };
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The `@slack/logger` Logger interface bolt and the Socket Mode client call. */
export interface BoltLogger {
  debug(...msg: unknown[]): void;
  info(...msg: unknown[]): void;
  warn(...msg: unknown[]): void;
  error(...msg: unknown[]): void;
  setLevel(level: string): void;
  getLevel(): string;
  setName(name: string): void;
}

/** A bolt Logger writing to `logger` (already redacting) from `level` up. */
export function boltLogger(logger: AdapterLogger, level: Level = 'warn'): BoltLogger {
  let current: Level = level;
  let name = 'bolt';
  const emit = (at: Level) => (...msg: unknown[]) => {
    if (ORDER[at] < ORDER[current]) return;
    const line = msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : safeJson(m))).join(' ');
    logger[at]({ source: name }, line);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    setLevel: (l: string) => {
      if (l in ORDER) current = l as Level;
    },
    getLevel: () => current,
    setName: (n: string) => {
      name = n;
    },
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
