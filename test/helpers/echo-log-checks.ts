/**
 * Invariant checks on a session log written by the echo model (or a fake model that answers
 * like it), and a fake-model responder that measures per-session overlap of model calls.
 */
import type { SessionEntry } from '../../src/core/session-store.js';
import type { FakeChatBody } from './fake-openai-server.js';
import { sleep } from './wait-for.js';

/**
 * Checks a session's log written by the echo model and returns the user message ids in log order:
 * entries alternate user/assistant (one turn at a time, I3), each message id once (I2), the
 * assistant reply k says `turn k` and quotes the user entry just before it (I4).
 */
export function checkEchoLog(entries: SessionEntry[]): string[] {
  const problems: string[] = [];
  const ids: string[] = [];
  const seen = new Set<string>();
  if (entries.length % 2 !== 0) problems.push(`odd number of entries: ${entries.length}`);
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const user = entries[i]!;
    const assistant = entries[i + 1]!;
    const k = i / 2 + 1;
    if (user.role !== 'user' || assistant.role !== 'assistant') problems.push(`entries ${i},${i + 1} are ${user.role},${assistant.role}, not user,assistant`);
    const id = String(user.metadata?.message_id);
    if (seen.has(id)) problems.push(`message ${id} stored twice (I2)`);
    seen.add(id);
    ids.push(id);
    const expected = `[echo] turn ${k}: you said "${user.content}"`;
    if (!assistant.content.startsWith(expected)) problems.push(`reply ${k} is ${JSON.stringify(assistant.content.slice(0, 60))}, expected it to start with ${JSON.stringify(expected)} (I4)`);
  }
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.cursor !== entries[i - 1]!.cursor + 1) problems.push(`cursor gap at ${i}: ${entries[i - 1]!.cursor} → ${entries[i]!.cursor}`);
  }
  if (problems.length > 0) throw new Error(`session log violates invariants:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return ids;
}

/**
 * A fake-model responder that answers like the echo model (`[echo] turn N: you said "…"`, N = user
 * messages it was sent, so checkEchoLog applies) and measures, per session, how many model calls
 * were in flight at once: each call holds its slot for `holdMs` before answering.
 */
export function overlapTrackingResponder(sessionOf: (text: string) => string, holdMs: () => number = () => 2 + Math.random() * 6) {
  const inFlight = new Map<string, number>();
  const stats = { calls: 0, maxPerSession: 0, maxOverall: 0, overall: 0, overlaps: [] as string[] };
  const responder = async (body: FakeChatBody): Promise<string> => {
    const users = (body.messages ?? []).filter((m) => m.role === 'user');
    const last = String(users.at(-1)?.content ?? '');
    const session = sessionOf(last);
    const n = (inFlight.get(session) ?? 0) + 1;
    inFlight.set(session, n);
    stats.calls++;
    stats.overall++;
    stats.maxOverall = Math.max(stats.maxOverall, stats.overall);
    stats.maxPerSession = Math.max(stats.maxPerSession, n);
    if (n > 1) stats.overlaps.push(`${session}: ${last} ran while ${n - 1} other call(s) of the session were in flight`);
    await sleep(holdMs());
    inFlight.set(session, (inFlight.get(session) ?? 1) - 1);
    stats.overall--;
    return `[echo] turn ${users.length}: you said "${last}"`;
  };
  return { responder, stats };
}
