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
