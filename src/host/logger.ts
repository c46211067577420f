/**
 * The process logger: pino to stderr, so stdout stays clean for command output and `--json`.
 * Every serialized line — message, every field, nested `err` objects — passes through a
 * SecretRedactor just before it is written, so no configured secret is ever printed.
 */
import { pino, type Logger } from 'pino';
import { writeSync } from 'node:fs';
import { SecretRedactor } from '../core/secret-redactor.js';
import { prettyDestination } from '../ops/pretty-log.js';

export type { Logger };

/**
 * The secrets of this process, filled in by whoever loads the configuration (the CLI's
 * `loadForCommand`) and read at write time, so loggers created earlier redact them too. It is
 * process-wide on purpose: everything the process prints must be covered, including lines of
 * loggers built by code that is never handed a redactor.
 */
export const processSecrets = new SecretRedactor();

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

/**
 * Makes every string or buffer written to `stream` (stdout, stderr: the CLI's own lines, error
 * reports, anything a library prints) pass through `redactor`.
 */
export function redactWrites(stream: NodeJS.WriteStream, redactor: SecretRedactor = processSecrets): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') return write(redactor.redact(chunk), ...rest);
    if (chunk instanceof Uint8Array && redactor.size > 0) {
      const text = Buffer.from(chunk).toString('utf8');
      const redacted = redactor.redact(text);
      return write(redacted === text ? chunk : Buffer.from(redacted), ...rest);
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
