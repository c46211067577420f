/**
 * Discord REST failures → what to do, in one table (matched on the JSON error `code` Discord
 * returns, then on the HTTP status). 429s never reach here: discord.js's REST client waits
 * `retry_after` and sends again; 5xx and network failures it retries three times first.
 */
export type DiscordDecision =
  /** The bot cannot post there for good (user blocked the bot or closed DMs, no access, channel gone): log, drop this reply. */
  | 'drop'
  /** The interaction token expired or is unknown: post in the channel instead. */
  | 'post_in_channel'
  /** The message to edit is gone: send the text as a new message. */
  | 'send_new'
  /** Already done (interaction already acknowledged): nothing to do. */
  | 'ignore'
  /** The bot token is wrong or was reset: stop the bot, tell the operator. */
  | 'fatal'
  /** Discord had trouble or the network failed (after the REST client's own retries): let the queue retry. */
  | 'retry'
  /** Anything else is a bad request — a bug: log it, fail the send. */
  | 'fail';

/** Discord JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json). */
export const DISCORD_ERROR = Object.freeze({
  UnknownChannel: 10003,
  UnknownMessage: 10008,
  UnknownUser: 10013,
  UnknownWebhook: 10015,
  UnknownInteraction: 10062,
  InteractionAlreadyAcknowledged: 40060,
  MissingAccess: 50001,
  CannotEditOthersMessage: 50005,
  CannotSendToUser: 50007,
  MissingPermissions: 50013,
  InvalidWebhookToken: 50027,
  ThreadArchived: 50083,
} as const);

const E = DISCORD_ERROR;
const RULES: ReadonlyArray<{ code?: number; status?: number; decision: DiscordDecision }> = [
  { code: E.CannotSendToUser, decision: 'drop' },
  { code: E.MissingAccess, decision: 'drop' },
  { code: E.MissingPermissions, decision: 'drop' },
  { code: E.UnknownChannel, decision: 'drop' },
  { code: E.UnknownUser, decision: 'drop' },
  { code: E.ThreadArchived, decision: 'drop' },
  { code: E.UnknownInteraction, decision: 'post_in_channel' },
  { code: E.UnknownWebhook, decision: 'post_in_channel' },
  { code: E.InvalidWebhookToken, decision: 'post_in_channel' },
  { code: E.UnknownMessage, decision: 'send_new' },
  { code: E.CannotEditOthersMessage, decision: 'send_new' },
  { code: E.InteractionAlreadyAcknowledged, decision: 'ignore' },
  { status: 401, decision: 'fatal' },
  { status: 403, decision: 'drop' },
  { status: 429, decision: 'retry' },
];

export function decideDiscordError(status: number | undefined, code: number | string | undefined): DiscordDecision {
  if (status === undefined) return 'retry';
  for (const rule of RULES) {
    if (rule.code !== undefined && rule.code !== code) continue;
    if (rule.status !== undefined && rule.status !== status) continue;
    return rule.decision;
  }
  return status >= 500 ? 'retry' : 'fail';
}

/** The decision for an error thrown by discord.js's REST client (DiscordAPIError / HTTPError carry `status`). */
export function decisionOf(err: unknown): DiscordDecision {
  const e = err as { status?: unknown; code?: unknown } | undefined;
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const code = typeof e?.code === 'number' || typeof e?.code === 'string' ? e.code : undefined;
  return decideDiscordError(status, code);
}

/** An error for logs: message, status and code only — never the URL (interaction tokens are in it). */
export function describeError(err: unknown): string {
  const e = err as { message?: unknown; status?: unknown; code?: unknown } | undefined;
  const parts = [typeof e?.message === 'string' ? e.message : String(err)];
  if (typeof e?.status === 'number') parts.push(`HTTP ${e.status}`);
  if (typeof e?.code === 'number' || (typeof e?.code === 'string' && e.code !== '')) parts.push(`code ${String(e.code)}`);
  return parts.join(', ');
}

/**
 * Gateway close codes after which reconnecting cannot help: the bot stops with what to fix.
 * Every other close is resumed or reconnected (discord.js resumes at once; repeated failures go
 * to the host's capped backoff).
 */
export const FATAL_CLOSE_CODES: Readonly<Record<number, { code: string; fix: string }>> = Object.freeze({
  4004: { code: 'DISCORD_TOKEN_INVALID', fix: 'Discord rejected the bot token (gateway close 4004 "authentication failed"): copy a fresh token from the developer portal (your application → Bot → Reset Token) into DISCORD_BOT_TOKEN or bots.yaml' },
  4010: { code: 'DISCORD_INVALID_SHARD', fix: 'Discord refused the shard (gateway close 4010)' },
  4011: { code: 'DISCORD_SHARDING_REQUIRED', fix: 'the bot is in too many guilds for one gateway connection (close 4011, sharding required); this host runs one shard per bot' },
  4012: { code: 'DISCORD_INVALID_API_VERSION', fix: 'Discord refused the gateway API version (close 4012); upgrade discord.js' },
  4013: { code: 'DISCORD_INVALID_INTENTS', fix: 'Discord refused the gateway intents (close 4013)' },
  4014: {
    code: 'DISCORD_INTENTS_DISABLED',
    fix: 'Discord refused a privileged intent (gateway close 4014 "disallowed intents"): in the developer portal open your application → Bot → Privileged Gateway Intents, switch on MESSAGE CONTENT INTENT, save, and start the bot again',
  },
});

/** discord.js's messages for the same failures when they end `client.login()`. */
const LOGIN_FAILURES: ReadonlyArray<[RegExp, number]> = [
  [/invalid token|authentication failed/i, 4004],
  [/disallowed intents|privileged intent/i, 4014],
  [/invalid intents/i, 4013],
  [/sharding is required/i, 4011],
  [/invalid shard/i, 4010],
  [/invalid api version/i, 4012],
];

/** The fatal close code a failed login amounts to, if any (by close code, else by discord.js's message). */
export function fatalCloseOf(closeCode: number | undefined, err: unknown): number | undefined {
  if (closeCode !== undefined && FATAL_CLOSE_CODES[closeCode]) return closeCode;
  if ((err as { code?: unknown })?.code === 'TokenInvalid' || (err as { status?: unknown })?.status === 401) return 4004;
  const message = (err as { message?: unknown })?.message;
  if (typeof message !== 'string') return undefined;
  return LOGIN_FAILURES.find(([pattern]) => pattern.test(message))?.[1];
}
