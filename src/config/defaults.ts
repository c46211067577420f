/**
 * Every default of bots.yaml and the names each enumerated key accepts, without zod: the
 * schema (schema.ts) builds on these, and the CLI reads them to describe options at startup.
 */
function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child && typeof child === 'object') deepFreeze(child);
  return Object.freeze(value);
}

/** Every default of bots.yaml, in one place. Mirrors the YAML sections. */
export const CONFIG_DEFAULTS = deepFreeze({
  /** The agent created when `agents:` is absent. */
  agent_id: 'assistant',
  agent: {
    instructions: 'You are a helpful assistant.',
    /** The built-in offline model: answers without any endpoint or key. */
    model: 'echo',
    max_history: 50,
  },
  store: { backend: 'file', path: '~/.bothost/sessions', max_messages: 1000, prefix: 'bothost' },
  queue: { backend: 'inline', concurrency: 8, name: 'bothost-turns', intake_path: '~/.bothost/intake' },
  session: { scope: 'per_user', reset: { mode: 'none', idle_minutes: 60, at_hour: 4 } },
  bot: { enabled: true, unknown_user_policy: 'allow', group_policy: 'mention_only' },
  gateway: {
    enabled: false,
    host: '127.0.0.1',
    port: 8765,
    allow_loopback_without_auth: false,
    session: {
      persist: false,
      persist_path: '~/.bothost/gateway-sessions',
      resume_window: 86_400,
      timeout: 3_600,
      max_messages: 1000,
      /** Seconds between purges of sessions detached for longer than resume_window. */
      purge_interval: 3_600,
    },
    auth: {
      /** Lifetime of a token minted by `bot gateway token` (seconds): 30 days. */
      token_ttl: 2_592_000,
    },
    limits: {
      /** Largest WebSocket frame accepted; bigger ones close the connection (1009) before being read. */
      max_frame_bytes: 65_536,
      /** Longest chat message, in characters. */
      max_message_chars: 16_000,
      /** Per identity, across its connections: sustained rate and burst (token bucket). */
      messages_per_minute: 30,
      burst: 10,
      /** Bytes queued to one client before it is cut off as a slow consumer. */
      max_buffered_bytes: 1_048_576,
      max_connections: 20_000,
      /** Turns waiting or running per session before new messages are refused. */
      max_pending: 20,
    },
  },
  log: { level: 'info', format: 'auto' },
  /**
   * Prometheus `/metrics`, `/healthz`, `/readyz` of every long-running role, on by default and
   * only on loopback. The gateway serves them on its own port; other roles listen here. A port
   * already taken (two workers on one machine) is a warning, not a failed start: set a port per
   * process, or 0 for any free one (the start-up log names it).
   */
  metrics: { enabled: true, host: '127.0.0.1', port: 9464 },
  /** The gateway's `/admin/` pages (queue view, stuck sessions, dead letters): off, and for listed identities only. */
  admin: { enabled: false },
} as const);


export const PLATFORMS = ['telegram', 'discord', 'slack', 'whatsapp'] as const;
export const STORE_BACKENDS = ['file', 'memory', 'redis', 'postgres'] as const;
export const QUEUE_BACKENDS = ['inline', 'bullmq'] as const;
export const SESSION_SCOPES = ['per_user', 'per_chat', 'per_thread'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export const UNKNOWN_USER_POLICIES = ['allow', 'deny'] as const;
export const GROUP_POLICIES = ['mention_only', 'respond_all', 'command_only'] as const;
export const RESET_MODES = ['none', 'idle', 'daily'] as const;

/** Longest lifetime of a minted gateway token (10 years): its expiry must fit the token format. */
export const MAX_TOKEN_TTL_SECONDS = 10 * 365 * 24 * 3600;
