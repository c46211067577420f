/**
 * The whatsapp entry of bots.yaml: the common bot keys, leadership (WhatsApp Web allows one
 * socket per linked device) and WhatsApp's own keys. Defaults live in WHATSAPP_DEFAULTS.
 *
 * @example
 * bots:
 *   - platform: whatsapp
 *     id: support
 *     allowed_users: ['+4915112345678']
 *     group_policy: mention_only
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { COMMON_BOT_CONFIG, LEADER_CONFIG } from '../../src/core/adapter.js';

export const WHATSAPP_DEFAULTS = Object.freeze({
  /** WhatsApp Web's own socket (baileys' default). */
  wsUrl: 'wss://web.whatsapp.com/ws/chat',
  /** WhatsApp accepts ~65k characters, but long messages read badly and are cut on some clients. */
  maxMessageLength: 4000,
  /** Least time between two sends into one chat (WhatsApp flags bursts from linked devices). */
  sendIntervalMs: 1000,
  /** "typing…" (composing) lasts about 25 s on the phone; renew well before. */
  typingIntervalMs: 10_000,
  readReceipts: true,
  /** Reconnect backoff for 428/408/503/500: jittered, doubling, capped; never gives up. */
  backoffMs: { initial: 1000, max: 60_000 },
  /** A decrypt failure ("Bad MAC", "No session") is logged at most once per chat this often. */
  decryptLogIntervalMs: 60_000,
  /** On stop, how long the socket stays open for replies of turns still running in this process. */
  stopGraceMs: 30_000,
  /** `start` resolves once the first socket opened or closed, or after this without the lease. */
  startWaitMs: 2_000,
  /** How long `login` waits for the phone before saying the QR / code expired. */
  loginTimeoutMs: 3 * 60_000,
} as const);

const D = WHATSAPP_DEFAULTS;
const positiveInt = () => z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().nonnegative());
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/**
 * One allowlist entry as the adapter's user ids spell it: a phone number in any common notation
 * (`+49 151 1234-5678`, `4915112345678`, `4915112345678@s.whatsapp.net`) becomes its digits; a
 * LID (`lid:123…` or `123…@lid`) becomes `lid:<digits>` — what a sender that could not be
 * resolved to a phone number is keyed by.
 */
export function canonicalUserEntry(raw: string): string | null {
  const s = raw.trim();
  const lid = /^(?:lid:(\d+)|(\d+)(?::\d+)?@lid)$/i.exec(s);
  if (lid) return `lid:${lid[1] ?? lid[2]}`;
  const jid = /^(\d+)(?::\d+)?@(?:s\.whatsapp\.net|c\.us)$/i.exec(s);
  if (jid) return jid[1]!;
  if (!/^\+?[\d\s().-]+$/.test(s)) return null;
  const digits = s.replace(/\D/g, '');
  return digits.length >= 6 && digits.length <= 15 ? digits : null;
}

const UserEntry = z.string().transform((s, ctx) => {
  const c = canonicalUserEntry(s);
  if (c === null) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a phone number in E.164 (+4915112345678) nor a LID (lid:123456789)` });
    return z.NEVER;
  }
  return c;
});

const GroupEntry = z.string().transform((s, ctx) => {
  const m = /^(\d+(?:-\d+)?)(?:@g\.us)?$/.exec(s.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a group JID (120363012345678901@g.us)` });
    return z.NEVER;
  }
  return `${m[1]}@g.us`;
});

/** What a bot without linked credentials says (`missing`, `start`, `bot start`'s skip line). */
export function notLinkedHint(botId: string): string {
  return `not linked: run \`npx bot whatsapp login${botId === 'whatsapp' ? '' : ` --bot ${botId}`}\``;
}

/** `~/.bothost/whatsapp/<id>`: where the file backend keeps a bot's linked device. */
export function defaultAuthDir(botId: string, home = os.homedir()): string {
  return path.join(home, '.bothost', 'whatsapp', botId);
}

/** `~` at the start of a path is the home directory (bots.yaml is written by people). */
export function expandHome(p: string, home = os.homedir()): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

export const WhatsAppAdapterConfig = z
  .strictObject({
    ...COMMON_BOT_CONFIG,
    ...LEADER_CONFIG,
    platform: z.literal('whatsapp'),
    allowed_users: z.array(UserEntry).describe('Phone numbers in E.164 (+4915112345678) or lid:<digits> for senders without a known number'),
    auth_dir: z.string().min(1).optional().describe('File backend: the linked device\'s state (baileys multi-file layout); default ~/.bothost/whatsapp/<id>'),
    auth_store: z.enum(['file', 'store']).default('file').describe('file: auth_dir; store: the Redis or Postgres store bots.yaml configures (chosen explicitly, so moving sessions never orphans a linked device)'),
    ws_url: z.url({ protocol: /^wss?$/ }).default(D.wsUrl).describe('WhatsApp Web socket URL (a local test server goes here)'),
    allowed_groups: z.array(GroupEntry).optional().describe('Group JIDs the bot answers in; absent: every group it is in (still gated by group_policy)'),
    read_receipts: bool().default(D.readReceipts).describe('Mark messages read once they are accepted'),
    send_interval_ms: positiveInt().default(D.sendIntervalMs).describe('Least time between two messages into one chat'),
    stop_grace_ms: positiveInt().default(D.stopGraceMs).describe('On stop, how long the socket stays open for replies of turns still running in this process'),
    typing_interval_ms: positiveInt().pipe(z.number().min(100)).default(D.typingIntervalMs).describe('How often "typing…" (composing) is renewed while the agent works'),
    socket_module: z
      .string()
      .min(1)
      .optional()
      .describe('Advanced: a module whose default export makes the socket instead of baileys (same calls and events as baileys\' makeWASocket); the test suite uses it'),
  })
  .transform((c) => ({ ...c, auth_dir: expandHome(c.auth_dir ?? defaultAuthDir(c.id)) }));

export type WhatsAppAdapterConfig = z.output<typeof WhatsAppAdapterConfig>;
