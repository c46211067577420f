/**
 * Session reset policy: start a fresh conversation after a quiet spell (`idle`) or once a day
 * (`daily`, at `at_hour` in the host's local time zone). Runs after the session key: when the
 * session's last stored activity is older than the policy allows, the session is cleared
 * (clearSession keeps its cursor, metadata and remembered inbound ids) before the turn, and
 * the user is told once.
 *
 * Decisions rest on the store's `updatedAt` (the last commit or metadata write), so they
 * survive restarts and hold across processes. After a reset the step writes `last_reset` into
 * the session's metadata, which also moves `updatedAt`: a second message arriving before the
 * first one's turn commits does not reset again. Messages of one session are checked one at a
 * time in this process, so a burst is told once.
 */
import type { SessionLog } from '../core/session-store.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import { parseCommand } from './commands.js';
import type { Middleware } from './pipeline.js';

export type ResetMode = 'none' | 'idle' | 'daily';

export interface ResetPolicy {
  mode: ResetMode;
  /** `idle`: minutes without activity after which the next message starts afresh. */
  idleMinutes: number;
  /** `daily`: the hour (0–23, host local time) at which conversations roll over. */
  atHour: number;
}

export const NO_RESET: ResetPolicy = Object.freeze({ mode: 'none', idleMinutes: 60, atHour: 4 });

export interface SessionResetDeps {
  store: Pick<SessionLog, 'getSession' | 'clearSession' | 'updateMetadata'>;
  /** The policy of a bot (its own override or the global one). */
  policyFor(botId: string): ResetPolicy;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** The most recent local `atHour`:00 at or before `now` (DST-safe: local calendar arithmetic). */
export function lastDailyBoundary(now: number, atHour: number): number {
  const d = new Date(now);
  d.setHours(atHour, 0, 0, 0);
  if (d.getTime() > now) d.setDate(d.getDate() - 1);
  return d.getTime();
}

/** Why a session last active at `lastActivity` must be reset at `now`, or null if it need not. */
export function resetReason(policy: ResetPolicy, lastActivity: number, now: number): string | null {
  if (policy.mode === 'idle') {
    return now - lastActivity >= policy.idleMinutes * 60_000 ? `idle ${formatMinutes(policy.idleMinutes)}` : null;
  }
  if (policy.mode === 'daily') {
    return lastActivity < lastDailyBoundary(now, policy.atHour) ? `daily reset at ${String(policy.atHour).padStart(2, '0')}:00` : null;
  }
  return null;
}

export function resetNotice(reason: string): string {
  return `Started a new conversation (${reason}).`;
}

function formatMinutes(minutes: number): string {
  return minutes % 60 === 0 && minutes >= 120 ? `${minutes / 60} h` : `${minutes} min`;
}

export function sessionReset(deps: SessionResetDeps): Middleware {
  const now = deps.now ?? (() => Date.now());
  const checking = new KeyedMutex();
  return async (ctx, next) => {
    const policy = deps.policyFor(ctx.bot.id);
    // `/new` clears the session itself and says so; a second notice would only confuse.
    if (policy.mode === 'none' || parseCommand(ctx.message.text)?.name === 'new') return next();
    const sessionId = ctx.sessionId!;
    const reason = await checking.run(sessionId, async () => {
      const info = await deps.store.getSession(sessionId);
      // Nothing to forget: a new or already cleared session is not "reset".
      if (!info || info.messageCount === 0) return null;
      const at = now();
      const why = resetReason(policy, info.updatedAt, at);
      if (!why) return null;
      await deps.store.clearSession(sessionId);
      await deps.store.updateMetadata(sessionId, { last_reset: { at, reason: why } });
      return why;
    });
    if (reason) await ctx.reply(resetNotice(reason));
    return next();
  };
}
