/**
 * The offline `echo` model: answers from the conversation alone, with no network and no key, so
 * a new user can watch persistence work (turn numbers grow, a name is remembered) before any
 * endpoint is configured. Its output is a pure function of the messages.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { ChatMessage } from '../core/session-store.js';
import type { ChatModel } from '../core/model.js';
import { abortErrorFrom } from './abort.js';

export const ECHO_DEFAULTS = Object.freeze({
  description: 'echo (offline)',
  /** Longest quoted user text, in code points, including the trailing `…`. */
  maxQuoteChars: 200,
  /** Words per streamed delta: several deltas per reply, so streaming paths get exercised. */
  wordsPerDelta: 3,
} as const);

const NAME_INTRO = /\bmy name is ([\p{L}\p{N}' .-]{1,40})/giu;

/**
 * The reply for a conversation, e.g. for `["hi, my name is Ada", "what is my name?"]`:
 * `[echo] turn 2: you said "what is my name?" I remember 1 earlier message(s) from you; the first
 * was "hi, my name is Ada". Your name is Ada.`
 */
export function echoReply(messages: readonly ChatMessage[]): string {
  const userTexts = messages.filter((m) => m.role === 'user').map((m) => m.content);
  const n = userTexts.length;
  const newest = userTexts.at(-1) ?? '';
  let reply = `[echo] turn ${n}: you said "${clip(newest)}"`;
  if (n > 1) {
    reply += ` I remember ${n - 1} earlier message(s) from you; the first was "${clip(userTexts[0] ?? '')}".`;
  }
  const asksAboutName = /name/i.test(newest) && !/my name is/i.test(newest);
  const name = asksAboutName ? latestIntroducedName(userTexts.slice(0, -1)) : undefined;
  if (name) reply += ` Your name is ${name}.`;
  return reply;
}

export function createEchoModel(): ChatModel {
  return {
    description: ECHO_DEFAULTS.description,
    async *stream({ messages, signal }) {
      // One trip through the event loop per reply (a timer-fired abort can land, like on a
      // socket); not one per delta, which would cost a poll per delta in a hot session.
      await nextMacrotask();
      for (const delta of wordGroups(echoReply(messages), ECHO_DEFAULTS.wordsPerDelta)) {
        if (signal?.aborted) throw abortErrorFrom(signal);
        yield delta;
      }
    },
  };
}

/** The most recent "my name is X" across earlier messages, trailing punctuation trimmed. */
function latestIntroducedName(earlier: readonly string[]): string | undefined {
  for (let i = earlier.length - 1; i >= 0; i--) {
    const names = [...(earlier[i] ?? '').matchAll(NAME_INTRO)]
      .map((m) => (m[1] ?? '').replace(/[\s.'-]+$/u, '').trim())
      .filter((name) => name.length > 0);
    if (names.length > 0) return names.at(-1);
  }
  return undefined;
}

/** Truncates by code points (never splitting an emoji) so the result is at most the limit. */
function clip(text: string, max: number = ECHO_DEFAULTS.maxQuoteChars): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Splits after whitespace runs, so the groups concatenate back to exactly `text`. */
function wordGroups(text: string, size: number): string[] {
  const words = text.split(/(?<=\s)(?=\S)/u);
  const groups: string[] = [];
  for (let i = 0; i < words.length; i += size) groups.push(words.slice(i, i + size).join(''));
  return groups;
}
