/**
 * The discord entry of bots.yaml: the common bot keys, `leader`, and Discord's own, validated by
 * the host through the config loader (errors name `bots.yaml:LINE: bots[i].key`). Defaults live
 * in DISCORD_DEFAULTS.
 */
import { z } from 'zod';
import { COMMON_BOT_CONFIG, LEADER_CONFIG } from '../../src/core/adapter.js';

export const DISCORD_DEFAULTS = Object.freeze({
  /** REST base; the gateway URL comes from `GET /gateway/bot` on it. */
  apiRoot: 'https://discord.com/api',
  apiVersion: '10',
  /** Discord's limit for a message's content (it counts code points; we count UTF-16 units, never more). */
  maxMessageLength: 2000,
  /** Streamed replies are edited at most once a second each. */
  streamEditIntervalMs: 1000,
  /** Discord shows "typing…" for about 10 s per call. */
  typingIntervalMs: 8000,
  /** Discord wants an interaction answered (here: deferred) within 3 s. */
  interactionAckMs: 3000,
  /** A deferred interaction's token can edit the reply for 15 minutes; a little margin. */
  interactionTokenTtlMs: 14 * 60_000,
  /** Interaction tokens kept in memory at most (the oldest go first). */
  interactionMemory: 5000,
  /** Nonces are at most 25 characters (Discord's rule). */
  nonceLength: 25,
  /**
   * discord.js retries a dropped gateway connection every 500 ms by itself; after this many
   * closes without a successful READY/RESUMED the adapter gives the connection up to the host's
   * capped backoff instead.
   */
  maxQuickReconnects: 3,
  /** A message the host could not take (queue down) is offered again after this, doubling. */
  ingestRetryMs: { initial: 500, max: 15_000 },
  /** start() resolves after this when no connection began (another process holds the lease). */
  leaseWaitMs: 2000,
  /** Inbound message/interaction ids remembered to drop a RESUME replay before the host sees it. */
  seenMemory: 10_000,
} as const);

const D = DISCORD_DEFAULTS;
const positiveInt = () => z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().positive());
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
/** An id list item: snowflakes must be quoted in YAML (they exceed a double's exact range). */
const snowflakeOrName = z
  .union([z.string().min(1), z.number()])
  .refine((v) => typeof v === 'string' || Number.isSafeInteger(v), { message: 'a Discord id is too big for a YAML number: put the id in quotes' })
  .transform(String);

export const DiscordAdapterConfig = z.strictObject({
  ...COMMON_BOT_CONFIG,
  ...LEADER_CONFIG,
  platform: z.literal('discord'),
  api_root: z
    .url({ protocol: /^https?$/ })
    .default(D.apiRoot)
    .transform((u) => u.replace(/\/+$/, ''))
    .describe('Discord REST base (without /v10); the gateway URL is fetched from it'),
  allowed_guilds: z.array(snowflakeOrName).default([]).describe('Guild (server) ids the bot answers in; empty: every guild it is in'),
  allowed_channels: z.array(snowflakeOrName).default([]).describe('Channel ids the bot answers in (a thread counts as its parent channel); empty: every channel'),
  threads: z.enum(['per_thread', 'shared']).default('per_thread').describe('per_thread: each Discord thread is its own session; shared: threads follow the bot\'s session scope'),
  slash_commands: bool().default(true).describe('Register /ask /new /status /help as application commands when connected'),
  stream_edit_interval_ms: positiveInt()
    .pipe(z.number().min(D.streamEditIntervalMs, `must be at least ${D.streamEditIntervalMs} (one edit per second per reply)`))
    .default(D.streamEditIntervalMs),
  typing_interval_ms: positiveInt().default(D.typingIntervalMs),
});

export type DiscordAdapterConfig = z.output<typeof DiscordAdapterConfig>;
