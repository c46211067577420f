/**
 * Shared pieces of the embedded-intake chaos tests (T31): how many kill cycles to run, reading
 * the file store the killed processes wrote, and the I1/I2 check on it.
 */
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import type { SessionEntry, SessionLog } from '../../src/core/session-store.js';
import { checkEchoLog } from '../helpers/echo-log-checks.js';

/** `CHAOS=full` (npm run chaos) runs hundreds of kills; CI a handful. */
export const FULL = process.env.CHAOS === 'full';

/** Every session of the file store in `dir`, each with all its entries (I2–I4 checked when `echo`). */
export async function readStore(dir: string, options: { echo?: boolean } = {}): Promise<Map<string, SessionEntry[]>> {
  const store = new FileSessionStore({ dir, logger: { warn: () => undefined } });
  try {
    return await readSessions(store, options);
  } finally {
    await store.close();
  }
}

/** Every session of `store`, each with all its entries (I2–I4 checked when `echo`). */
export async function readSessions(store: Pick<SessionLog, 'listSessions' | 'getEntries'>, options: { echo?: boolean } = {}): Promise<Map<string, SessionEntry[]>> {
  const out = new Map<string, SessionEntry[]>();
  for (const info of await store.listSessions({ limit: 1_000_000 })) {
    const entries = await store.getEntries(info.id);
    if (options.echo) checkEchoLog(entries);
    out.set(info.id, entries);
  }
  return out;
}

/** How many user entries hold each text, and which texts are followed by an assistant entry. */
export function userTexts(sessions: Map<string, SessionEntry[]>): { count: Map<string, number>; answered: Set<string> } {
  const count = new Map<string, number>();
  const answered = new Set<string>();
  for (const entries of sessions.values()) {
    entries.forEach((e, i) => {
      if (e.role !== 'user') return;
      count.set(e.content, (count.get(e.content) ?? 0) + 1);
      if (entries[i + 1]?.role === 'assistant') answered.add(e.content);
    });
  }
  return { count, answered };
}

/** I1 + I2 for the acknowledged texts: each is exactly one user entry, answered. Returns the problems. */
export function ackProblems(acked: Iterable<string>, sessions: Map<string, SessionEntry[]>): string[] {
  const { count, answered } = userTexts(sessions);
  const problems: string[] = [];
  for (const text of acked) {
    const n = count.get(text) ?? 0;
    if (n === 0) problems.push(`acknowledged "${text}" is missing (I1)`);
    else if (n > 1) problems.push(`acknowledged "${text}" is stored ${n} times (I2)`);
    else if (!answered.has(text)) problems.push(`acknowledged "${text}" has no reply (I1)`);
  }
  return problems;
}

export const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
