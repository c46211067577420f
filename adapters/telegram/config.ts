/**
 * The telegram entry of bots.yaml: the common bot keys plus Telegram's own, validated by the
 * host through the config loader (errors name `bots.yaml:LINE: bots[i].key`). Defaults live in
 * TELEGRAM_DEFAULTS.
 */
import { z } from 'zod';
import { COMMON_BOT_CONFIG } from '../../src/core/adapter.js';

export const TELEGRAM_DEFAULTS = Object.freeze({
  apiRoot: 'https://api.telegram.org',
  mode: 'polling',
  /** Telegram's own limit for a message, in UTF-16 code units (after entity parsing). */
  maxMessageLength: 4096,
  /** Longest any Bot API call may take (long polls: their timeout plus 15 s, if more). */
  apiTimeoutSeconds: 60,
  /** Seconds a getUpdates call waits for updates (long polling). */
  pollTimeoutSeconds: 30,
  /** Streamed replies are edited at most this often (Telegram rate-limits edits). */
  streamEditIntervalMs: 1000,
  /** Telegram shows "typing…" for about 5 s per sendChatAction. */
  typingIntervalMs: 4000,
  /** Typing stops after this even if no reply came (a lost result must not type forever). */
  typingMaxMs: 10 * 60_000,
  leaderTtlMs: 10_000,
  webhookHost: '127.0.0.1',
  webhookPort: 8080,
  /** Largest webhook body accepted (Telegram updates are a few KB). */
  webhookMaxBodyBytes: 1_000_000,
  /** 429 retries per call, and the longest retry_after we are willing to wait. */
  maxRateLimitRetries: 5,
  maxRetryAfterSeconds: 120,
  /** Backoff between failed getUpdates / start-up attempts. */
  backoffMs: { initial: 500, max: 30_000 },
  /** Inbound ids whose reply this process delivered, remembered to skip a duplicate result. */
  deliveredMemory: 10_000,
} as const);

const D = TELEGRAM_DEFAULTS;
const SECRET = /^[A-Za-z0-9_-]{1,256}$/;
const positiveInt = () => z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().positive());
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

const WebhookConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('Public URL Telegram posts updates to (https in production)'),
  path: z.string().startsWith('/').optional().describe('Path this process serves; defaults to the URL\'s path'),
  secret: z
    .string()
    .regex(SECRET, 'must be 1–256 characters of A–Z, a–z, 0–9, "_" or "-" (Telegram\'s rule for secret_token)')
    .describe('Sent by Telegram in X-Telegram-Bot-Api-Secret-Token; requests without it get 401'),
  host: z.string().min(1).default(D.webhookHost).describe('Listen address (put a TLS proxy in front)'),
  port: positiveInt().pipe(z.number().max(65_535)).default(D.webhookPort),
});

export const TelegramAdapterConfig = z
  .strictObject({
    ...COMMON_BOT_CONFIG,
    platform: z.literal('telegram'),
    mode: z.enum(['polling', 'webhook']).default(D.mode),
    api_root: z
      .url({ protocol: /^https?$/ })
      .default(D.apiRoot)
      .transform((u) => u.replace(/\/+$/, ''))
      .describe('Bot API server (self-hosted servers too); no trailing slash needed'),
    webhook: WebhookConfig.optional(),
    parse_mode: z.enum(['html', 'plain']).default('html').describe('html: Markdown replies rendered as Telegram HTML; plain: sent as is'),
    forum_topics: z.enum(['shared', 'per_thread']).default('shared').describe('per_thread: each forum topic is its own session'),
    leader: z.enum(['auto', 'redis', 'none']).default('auto').describe('Who may long-poll: auto uses Redis when bots.yaml configures it'),
    leader_ttl_ms: positiveInt().default(D.leaderTtlMs),
    poll_timeout_s: positiveInt().pipe(z.number().max(50)).default(D.pollTimeoutSeconds),
    stream_edit_interval_ms: positiveInt().default(D.streamEditIntervalMs),
    typing_interval_ms: positiveInt().default(D.typingIntervalMs),
    set_commands: bool().default(true).describe('Register /start /help /new /status with setMyCommands'),
    drop_pending_updates: bool().default(false),
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'webhook' && !c.webhook) {
      ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'mode webhook needs `webhook: { url: https://…/telegram, secret: ${TELEGRAM_WEBHOOK_SECRET} }`' });
    }
  });

export type TelegramAdapterConfig = z.output<typeof TelegramAdapterConfig>;
