/**
 * WhatsApp JIDs without baileys (the definition module and allowlists need them too):
 * `4915112345678@s.whatsapp.net` (a phone number, "PN"), `4915112345678:3@s.whatsapp.net` (one of
 * its devices), `123456789012345@lid` (a LID: WhatsApp's privacy id for the same person),
 * `120363…@g.us` (a group), `status@broadcast`, `…@newsletter`.
 */

export interface ParsedJid {
  user: string;
  device?: number;
  server: string;
}

export function parseJid(jid: string | null | undefined): ParsedJid | undefined {
  if (!jid) return undefined;
  const at = jid.lastIndexOf('@');
  if (at <= 0) return undefined;
  const server = jid.slice(at + 1);
  const [userAgent, device] = jid.slice(0, at).split(':');
  const user = userAgent!.split('_')[0]!;
  return { user, server, ...(device !== undefined && /^\d+$/.test(device) ? { device: Number(device) } : {}) };
}

export const isPnUser = (jid: string | null | undefined): boolean => {
  const p = parseJid(jid);
  return p !== undefined && (p.server === 's.whatsapp.net' || p.server === 'c.us') && /^\d+$/.test(p.user);
};
export const isLidUser = (jid: string | null | undefined): boolean => {
  const p = parseJid(jid);
  return p !== undefined && p.server === 'lid' && /^\d+$/.test(p.user);
};
export const isGroup = (jid: string | null | undefined): boolean => !!jid && jid.endsWith('@g.us');
/** Status updates, broadcast lists and channels: never a conversation with the bot. */
export const isBroadcastOrNewsletter = (jid: string | null | undefined): boolean =>
  !!jid && (jid.endsWith('@broadcast') || jid.endsWith('@newsletter'));

/** The user part of a PN or LID JID without its device (`4915…:3@s.whatsapp.net` → `4915…`). */
export function userOf(jid: string | null | undefined): string | undefined {
  return parseJid(jid)?.user;
}

/** Same person-and-kind (device ignored): `49…:3@s.whatsapp.net` equals `49…@s.whatsapp.net`. */
export function sameUser(a: string | null | undefined, b: string | null | undefined): boolean {
  const pa = parseJid(a);
  const pb = parseJid(b);
  if (!pa || !pb) return false;
  const server = (s: string) => (s === 'c.us' ? 's.whatsapp.net' : s);
  return pa.user === pb.user && server(pa.server) === server(pb.server);
}

/** `+49 151 …` or digits → the phone-number JID. */
export function pnJid(phone: string): string {
  return `${phone.replace(/\D/g, '')}@s.whatsapp.net`;
}

/** How people see a linked account: `+4915112345678`. */
export function displayPhone(jid: string | null | undefined): string | undefined {
  const p = parseJid(jid);
  return p && /^\d+$/.test(p.user) && p.server !== 'lid' ? `+${p.user}` : undefined;
}
