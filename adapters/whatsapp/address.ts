/**
 * The reply address of an inbound WhatsApp message, opaque to the host: the chat JID to send to
 * and, for groups, the message to quote (its id, author and a short snippet of its text — baileys
 * needs the quoted content to build the quote).
 */

export interface WhatsAppAddress {
  /** Chat JID replies go to (a PN or LID JID for direct chats, `…@g.us` for groups). */
  chat: string;
  /** The message to quote (groups only). */
  quote?: { id: string; participant: string; text: string };
}

/** Longest quoted snippet kept in an address (the phone shows a line or two anyway). */
export const QUOTE_SNIPPET_CHARS = 200;

export function encodeAddress(a: WhatsAppAddress): string {
  return JSON.stringify(a.quote ? { c: a.chat, q: [a.quote.id, a.quote.participant, a.quote.text.slice(0, QUOTE_SNIPPET_CHARS)] } : { c: a.chat });
}

/** Throws on an address this adapter did not make (a bug, or another platform's). */
export function decodeAddress(s: string): WhatsAppAddress {
  let v: { c?: unknown; q?: unknown };
  try {
    v = JSON.parse(s) as typeof v;
  } catch {
    throw new Error(`not a WhatsApp reply address: ${s.slice(0, 80)}`);
  }
  if (typeof v.c !== 'string' || !v.c.includes('@')) throw new Error(`not a WhatsApp reply address: ${s.slice(0, 80)}`);
  const q = Array.isArray(v.q) && v.q.length === 3 && v.q.every((x) => typeof x === 'string') ? (v.q as [string, string, string]) : undefined;
  return { chat: v.c, ...(q ? { quote: { id: q[0], participant: q[1], text: q[2] } } : {}) };
}
