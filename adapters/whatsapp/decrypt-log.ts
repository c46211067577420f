/**
 * "Bad MAC" / "No session" decrypt failures arrive in floods after a session breaks (a LID
 * migration, a restored backup): log each chat's at most once per interval, with how many were
 * suppressed, and never let them reach the agent or stop the socket. baileys asks the sender to
 * retry on its own; this only keeps the log readable.
 */
import type { AdapterLogger } from '../../src/core/adapter.js';

export class DecryptFailureLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: AdapterLogger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one failure in `chat`; logs it unless this chat's last log was within the interval. */
  report(chat: string, reason: string): boolean {
    const t = this.now();
    const seen = this.last.get(chat);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return false;
    }
    this.last.set(chat, { at: t, suppressed: 0 });
    if (this.last.size > 10_000) this.last.delete(this.last.keys().next().value!);
    this.logger.warn({ chat, reason, suppressedSinceLast: seen?.suppressed ?? 0 }, 'a WhatsApp message could not be decrypted (the sender is asked to retry; logged at most once a minute per chat)');
    return true;
  }
}

const DECRYPT_PATTERN = /failed to decrypt|bad mac|no session|no matching sessions|invalid prekey|key used already/i;

/** Whether a baileys log line is a decrypt failure (to route it through `DecryptFailureLog`). */
export function isDecryptFailure(msg: string | undefined, obj: unknown): boolean {
  if (msg && DECRYPT_PATTERN.test(msg)) return true;
  const err = (obj as { err?: { message?: unknown } } | undefined)?.err;
  return typeof err?.message === 'string' && DECRYPT_PATTERN.test(err.message);
}
