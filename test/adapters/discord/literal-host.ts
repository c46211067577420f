/**
 * An AdapterHost built from literals for in-process adapter tests: records what the adapter
 * ingests and logs, answers ingest with a chosen outcome, and holds the connection the way the
 * host does (reconnect after a backoff, stop on an AdapterFatalError).
 */
import type { AdapterHost, IngestOptions, IngestOutcome } from '../../../src/core/adapter.js';
import type { InboundMessage } from '../../../src/core/inbound.js';

export interface LiteralHost {
  host: AdapterHost;
  ingested: Array<{ message: InboundMessage; options: IngestOptions | undefined }>;
  logs: Array<{ level: string; msg: string; obj: object }>;
  /** Every log line as one string (for "never printed" checks). */
  logText(): string;
  /** How many times deliver() was called, and how many routes are live. */
  delivering: { started: number; live: number };
  /** connect() attempts, and rejections that were not fatal. */
  connects: { attempts: number; failures: string[] };
  /** Outcome for the next ingests (default enqueued). */
  outcome: (m: InboundMessage) => IngestOutcome;
  hasLog(pattern: RegExp): boolean;
  /** What the adapter reported through onFatal. */
  fatal: Error | undefined;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export function literalHost(options: { backoffMs?: number } = {}): LiteralHost {
  const state: LiteralHost = {
    ingested: [],
    logs: [],
    logText: () => state.logs.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.obj)}`).join('\n'),
    delivering: { started: 0, live: 0 },
    connects: { attempts: 0, failures: [] },
    outcome: () => 'enqueued',
    hasLog: (pattern) => pattern.test(state.logText()),
    fatal: undefined,
    host: undefined as unknown as AdapterHost,
  };
  const log = (level: string) => (obj: object, msg?: string) => void state.logs.push({ level, msg: msg ?? '', obj });
  state.host = {
    async ingest(message, opts) {
      state.ingested.push({ message, options: opts });
      return state.outcome(message);
    },
    deliver() {
      state.delivering.started++;
      state.delivering.live++;
      return () => void state.delivering.live--;
    },
    identify: () => undefined,
    onFatal: (err) => void (state.fatal = err),
    async holdConnection(connect, stop) {
      let backoff = options.backoffMs ?? 200;
      while (!stop.aborted) {
        state.connects.attempts++;
        try {
          await connect(stop);
        } catch (err) {
          if ((err as { fatal?: boolean }).fatal) throw err;
          state.connects.failures.push((err as Error).message);
        }
        await sleep(backoff, stop);
        backoff = Math.min(backoff * 2, 5000);
      }
    },
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    commands: { start: 'say hello', help: 'list the commands', new: 'start a new conversation', status: 'show this session' },
  };
  return state;
}
