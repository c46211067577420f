/** The process logger: pino to stderr, so stdout stays clean for command output and `--json`. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Belt and braces: even if a token sneaks into a logged object, it is never printed.
      redact: { paths: ['*.token', '*.api_key', '*.apiKey', '*.secret', '*.password', 'token', 'apiKey'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
