/**
 * A literal `AdapterHost` for in-process Slack adapter tests: records what was ingested, answers
 * with a scripted outcome (default: `enqueued` once per message id, then `duplicate`, like the
 * host's dedupe), can be slowed down, and runs `holdConnection` with a short fixed backoff.
 */
import { AdapterFatalError, type AdapterHost, type IngestOptions, type IngestOutcome } from '../../src/core/adapter.js';
import type { InboundMessage } from '../../src/core/inbound.js';

export interface TestHost extends AdapterHost {
  ingested: Array<{ message: InboundMessage; options?: IngestOptions; outcome: IngestOutcome }>;
  /** Outcome of the next ingests (consumed in order), before the default rule applies. */
  script: IngestOutcome[];
  /** Milliseconds every ingest takes. */
  delayMs: number;
  fatals: Error[];
  lines: string[];
  deliveries: number;
  connects: number;
}

export function makeTestHost(): TestHost {
  const seen = new Set<string>();
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  const host: TestHost = {
    ingested: [],
    script: [],
    delayMs: 0,
    fatals: [],
    lines,
    deliveries: 0,
    connects: 0,
    async ingest(message, options) {
      if (host.delayMs > 0) await new Promise((r) => setTimeout(r, host.delayMs));
      let outcome = host.script.shift();
      if (outcome === undefined) outcome = seen.has(message.messageId) ? 'duplicate' : 'enqueued';
      if (outcome === 'enqueued') seen.add(message.messageId);
      host.ingested.push({ message, ...(options ? { options } : {}), outcome });
      return outcome;
    },
    deliver() {
      host.deliveries++;
      return () => undefined;
    },
    identify() {},
    async holdConnection(connect, stop) {
      while (!stop.aborted) {
        const ac = new AbortController();
        const onStop = () => ac.abort();
        stop.addEventListener('abort', onStop, { once: true });
        host.connects++;
        try {
          await connect(ac.signal);
        } catch (err) {
          if (err instanceof AdapterFatalError) throw err;
          lines.push(`connect failed: ${(err as Error).message}`);
        } finally {
          stop.removeEventListener('abort', onStop);
        }
        if (!stop.aborted) await new Promise((r) => setTimeout(r, 200));
      }
    },
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    commands: { new: 'Start a new conversation', status: 'Show the session', help: 'What the bot can do' },
    onFatal: (err) => void host.fatals.push(err),
  };
  return host;
}
