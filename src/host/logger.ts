/** The process logger: pino to stderr, so stdout stays clean for command output and `--json`. */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { prettyDestination } from '../ops/pretty-log.js';

export type { Logger };

/**
 * `format` (bots.yaml `log.format`, or $LOG_FORMAT): `json` lines, `pretty` human lines, or
 * `auto` (default) — pretty when stderr is a terminal, JSON otherwise (files, pipes, collectors).
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', format: string = process.env.LOG_FORMAT ?? 'auto'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: even if a token sneaks into a logged object, it is never printed.
      redact: { paths: ['*.token', '*.api_key', '*.apiKey', '*.secret', '*.password', 'token', 'apiKey'], censor: '[redacted]' },
    },
    pretty ? prettyDestination((text) => writeSync(2, text)) : pino.destination({ dest: 2, sync: true }),
  );
}
