/**
 * libsignal (baileys' Signal implementation) reports session events with `console.*`, and some
 * of them print the whole session record — private ratchet keys included ("Closing session:",
 * "Session already closed"). Once baileys is loaded, those lines go to the adapter's logger at
 * debug level as their first line of text only; every other console call passes through.
 */
import type { AdapterLogger } from '../../src/core/adapter.js';

const LIBSIGNAL_LINE = /^(Closing session|Session already closed|Closing open session|Closing stale open session|Failed to decrypt message with any known session|Session error:|Decrypted message with closed session|Migrating session to|V1 session storage migration error|WARNING: Expected pubkey|Unhandled bucket type)/;

let installed = false;

/** Installs the filter once per process (later calls only keep the first logger). */
export function quietLibsignalConsole(logger: AdapterLogger): void {
  if (installed) return;
  installed = true;
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      const first = args[0];
      if (typeof first === 'string' && LIBSIGNAL_LINE.test(first)) {
        logger.debug({}, `libsignal: ${first.split('\n')[0]!.slice(0, 200)}`);
        return;
      }
      original(...args);
    };
  }
}

/** For tests: whether a console line would be held back. */
export function isLibsignalLine(line: string): boolean {
  return LIBSIGNAL_LINE.test(line);
}
