/**
 * The process logger: pino to stderr, so stdout stays clean for command output and `--json`.
 * Every serialized line — message, every field, nested `err` objects — passes through a
 * SecretRedactor just before it is written, so no configured secret is ever printed.
 */
import type { Logger } from 'pino';
import { writeSync } from 'node:fs';
import { lazyRequire } from '../core/lazy-require.js';
import type { SecretRedactor } from '../core/secret-redactor.js';
import { prettyDestination } from '../ops/pretty-log.js';
import { processSecrets } from './process-secrets.js';

export type { Logger };
export { processSecrets, redactWrites } from './process-secrets.js';

// Loaded when the first logger is made: `bot --help` and other quick commands never load pino.
const pinoModule = lazyRequire<typeof import('pino')>('pino');

export interface LoggerOptions {
  /** Default: `processSecrets`. */
  redactor?: SecretRedactor;
  /** Where lines go; default stderr (synchronously). */
  destination?: { write(line: string): unknown };
}

/**
 * `format` (bots.yaml `log.format`, or $LOG_FORMAT): `json` lines, `pretty` human lines, or
 * `auto` (default) — pretty when stderr is a terminal, JSON otherwise (files, pipes, collectors).
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', format: string = process.env.LOG_FORMAT ?? 'auto', options: LoggerOptions = {}): Logger {
  const redactor = options.redactor ?? processSecrets;
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  const { pino } = pinoModule();
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: a secret-named field is censored by name even before its value is known.
      redact: { paths: ['*.token', '*.api_key', '*.apiKey', '*.secret', '*.password', 'token', 'apiKey'], censor: '[redacted]' },
      hooks: { streamWrite: (line) => redactor.redact(line) },
    },
    options.destination ?? (pretty ? prettyDestination((text) => writeSync(2, text)) : pino.destination({ dest: 2, sync: true })),
  );
}

/** pino's numeric levels, for deciding without pino whether a call would print. */
const LEVEL_VALUES: Readonly<Record<string, number>> = Object.freeze({ trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 });

/**
 * A logger that creates its pino logger (and loads pino) on the first call that would print:
 * a short command at `warn` (`bot chat --message`, `bot session …`) usually prints nothing, and
 * then never pays for pino. Calls below the level are no-ops; anything else — a line at or above
 * it, `level`, `bindings()` — creates the real logger, which then serves every call. Same
 * arguments as createLogger.
 */
export function deferredLogger(level: string, format?: string, options?: LoggerOptions): Logger {
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : LEVEL_VALUES[level];
  // An unknown level: let pino reject it now, with its own message.
  if (threshold === undefined) return createLogger(level, format, options);
  return lazyLogger(() => createLogger(level, format, options), threshold);
}

function lazyLogger(create: () => Logger, threshold: number): Logger {
  let real: Logger | undefined;
  const make = () => (real ??= create());
  const quiet = () => undefined;
  return new Proxy({} as Logger, {
    get(_target, prop) {
      if (real === undefined && typeof prop === 'string' && (LEVEL_VALUES[prop] ?? Number.POSITIVE_INFINITY) < threshold) return quiet;
      if (real === undefined && prop === 'child') {
        return (bindings: Record<string, unknown>, options?: object) => (options ? make().child(bindings, options) : lazyLogger(() => make().child(bindings), threshold));
      }
      const logger = make();
      const value: unknown = Reflect.get(logger, prop, logger);
      return typeof value === 'function' ? value.bind(logger) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(make(), prop, value);
    },
  });
}
