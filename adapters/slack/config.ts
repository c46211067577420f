/**
 * The slack entry of bots.yaml: the common bot keys plus Slack's own. Slack is not a
 * single-connection platform (HTTP events reach any number of processes, Socket Mode allows
 * several connections), so there are no leader keys. Defaults live in SLACK_DEFAULTS.
 */
import { z } from 'zod';
import { COMMON_BOT_CONFIG } from '../../src/core/adapter.js';

export const SLACK_DEFAULTS = Object.freeze({
  mode: 'http',
  /** Web API base; Socket Mode's apps.connections.open goes here too. */
  apiUrl: 'https://slack.com/api/',
  httpHost: '127.0.0.1',
  httpPort: 3000,
  httpPath: '/slack/events',
  /** Requests signed longer ago than this are refused (Slack's own recommendation: 5 min). */
  signatureMaxAgeSeconds: 300,
  /** Largest event body accepted (Slack events are a few KB). */
  maxBodyBytes: 1_000_000,
  /**
   * chat.postMessage takes up to 40 000 characters but truncates long text in the client;
   * messages are kept to about a screenful so streamed edits stay readable.
   */
  maxMessageLength: 3_900,
  /** Least time between two edits of one streamed reply. */
  editIntervalMs: 1_000,
  /** chat.update is Tier 3 (~50 per minute per workspace): one edit per 1.2 s per workspace. */
  workspaceEditIntervalMs: 1_200,
  /**
   * How often the host renews the working status. The :eyes: reaction stays until removed, so a
   * renewal makes no API call; the interval only bounds how late a status lost to a failed call
   * is put back.
   */
  statusIntervalMs: 3_000,
  statusEmoji: 'eyes',
  /** Longest a Web API call may take before it is treated as ambiguous. */
  apiTimeoutMs: 10_000,
  /** 429: the longest Retry-After waited out, and how many times per call. */
  maxRetryAfterSeconds: 120,
  maxRateLimitRetries: 5,
  /** Socket Mode: ping/pong watchdog (a socket that went silent is closed and reopened). */
  clientPingTimeoutMs: 5_000,
  serverPingTimeoutMs: 30_000,
  /** Threads the bot posted in, remembered to answer follow-ups without a mention. */
  threadMemory: 10_000,
  /** How long "the bot is not in this thread" is believed before asking Slack again. */
  threadNegativeTtlMs: 30_000,
} as const);

const D = SLACK_DEFAULTS;
const positiveInt = () => z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().positive());
const port = () => z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().min(0).max(65_535));
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

const HttpConfig = z.strictObject({
  host: z.string().min(1).default(D.httpHost).describe('Listen address (put a TLS proxy or load balancer in front)'),
  port: port().default(D.httpPort),
  path: z.string().startsWith('/').default(D.httpPath).describe('Request URL path configured in the Slack app (Event Subscriptions, Slash Commands)'),
});

export const SlackAdapterConfig = z
  .strictObject({
    ...COMMON_BOT_CONFIG,
    platform: z.literal('slack'),
    mode: z
      .enum(['http', 'socket'])
      .optional()
      .describe('http (default): Slack POSTs signed events to this process; socket: Socket Mode, no public URL. Unset with only app_token given: socket'),
    signing_secret: z.string().min(1).optional().describe('Basic Information → Signing Secret (http mode)'),
    app_token: z.string().startsWith('xapp-', 'an app-level token starts with xapp- (Basic Information → App-Level Tokens, scope connections:write)').optional().describe('App-level token (socket mode)'),
    http: HttpConfig.prefault({}),
    api_url: z
      .url({ protocol: /^https?$/ })
      .default(D.apiUrl)
      .transform((u) => (u.endsWith('/') ? u : `${u}/`))
      .describe('Web API base URL (GovCloud, proxies, the tests\' fake Slack)'),
    allowed_channels: z.array(z.string()).default([]).describe('Channel ids the bot answers in (empty: every channel it is in); DMs are governed by allowed_users'),
    reply_in_thread: bool().default(true).describe('Channel replies go into the thread of the message'),
    threads: z.enum(['shared', 'per_thread']).default('shared').describe('per_thread: each channel thread is its own session'),
    status_emoji: z.string().regex(/^[a-z0-9_+'-]+$/, 'an emoji name without colons, e.g. eyes').default(D.statusEmoji).describe('Reaction shown on the message while the bot works'),
    api_timeout_ms: positiveInt().default(D.apiTimeoutMs),
    stream_edit_interval_ms: positiveInt().default(D.editIntervalMs),
    workspace_edit_interval_ms: positiveInt().default(D.workspaceEditIntervalMs).describe('Least time between two chat.update calls in one workspace (Tier 3)'),
    client_ping_timeout_ms: positiveInt().default(D.clientPingTimeoutMs),
    server_ping_timeout_ms: positiveInt().default(D.serverPingTimeoutMs),
  });

/**
 * The mode an entry runs in: `mode` when set; else Socket Mode when only an app token is given
 * (so `SLACK_BOT_TOKEN=… SLACK_APP_TOKEN=… bot slack` needs no bots.yaml), else HTTP.
 */
export function modeOf(entry: { mode?: unknown; app_token?: unknown; signing_secret?: unknown }): 'http' | 'socket' {
  if (entry.mode === 'http' || entry.mode === 'socket') return entry.mode;
  const has = (v: unknown) => typeof v === 'string' && v.trim() !== '';
  return has(entry.app_token) && !has(entry.signing_secret) ? 'socket' : D.mode;
}

export type SlackAdapterConfig = z.output<typeof SlackAdapterConfig>;
