/**
 * The `bots.yaml` schema: the single source for validation, defaults, the `BotsConfig` type and
 * the editor JSON Schema (see json-schema.ts). Keys stay snake_case exactly as written in YAML.
 *
 * Values derived from other sections (an agent's `name`, a bot's `id` and `agent`, the gateway's
 * `agent`, the queue's `redis_url`) are filled in by the final transform, so consumers never
 * re-implement those rules. `~` expansion of paths is the loader's job, not the schema's.
 */
import { z } from 'zod';
import { CONFIG_DEFAULTS, MAX_TOKEN_TTL_SECONDS, STORE_BACKENDS, QUEUE_BACKENDS, SESSION_SCOPES, LOG_LEVELS, LOG_FORMATS, UNKNOWN_USER_POLICIES, GROUP_POLICIES, RESET_MODES, PLATFORMS } from './defaults.js';

export { CONFIG_DEFAULTS, MAX_TOKEN_TTL_SECONDS, STORE_BACKENDS, QUEUE_BACKENDS, SESSION_SCOPES, LOG_LEVELS, LOG_FORMATS, UNKNOWN_USER_POLICIES, GROUP_POLICIES, RESET_MODES, PLATFORMS } from './defaults.js';

const D = CONFIG_DEFAULTS;

// `${VAR}` interpolation always yields strings, so "8765" and "true" must be accepted where a
// number or boolean is wanted. Only well-formed strings are converted: "" or "abc" stay strings
// and fail with a type error instead of silently becoming 0 / NaN / true as z.coerce would.
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

const envCoerced = new WeakSet<object>();
/** True for the fields that also accept a string from `${VAR}` (numbers, booleans, user-id lists). */
export const acceptsEnvString = (schema: object): boolean => envCoerced.has(schema);
function markEnvCoerced<T extends object>(schema: T): T {
  envCoerced.add(schema);
  return schema;
}

function envNumber<T extends z.ZodNumber>(schema: T) {
  return markEnvCoerced(z.preprocess((v) => (typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v), schema));
}
const positiveInt = () => envNumber(z.number().int().positive());

const envBoolean = () =>
  markEnvCoerced(
    z.preprocess((v) => {
      if (typeof v !== 'string') return v;
      const word = v.trim().toLowerCase();
      return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : v;
    }, z.boolean()),
  );
const text = () => z.string().min(1);

/** A user id: numbers are turned into strings; one env string may hold a comma-separated list. */
const UserId = z.union([z.string().min(1), z.number()]).transform((v, ctx) => {
  // Discord snowflakes exceed 2^53: a bare YAML number has already lost digits by now.
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    ctx.addIssue({ code: 'custom', message: `${v} is not an exact whole number; put the id in quotes` });
  }
  return String(v);
});
const UserIdList = markEnvCoerced(
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(UserId)),
);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// YAML `key:` with nothing after it is null. Inside a section that means "not set", so the
// default applies (e.g. `store:` with every child commented out) instead of a type error.
const dropNulls = (v: unknown) => (isRecord(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null)) : v);
const strict = <S extends z.ZodRawShape>(shape: S) => z.preprocess(dropNulls, z.strictObject(shape));
const loose = <S extends z.ZodRawShape>(shape: S) => z.preprocess(dropNulls, z.looseObject(shape));

export const AgentSchema = strict({
  name: text().optional().describe('Display name; defaults to the agent id'),
  instructions: z.string().default(D.agent.instructions).describe('System prompt'),
  model: text().default(D.agent.model).describe('Model name; "echo" is the built-in offline model'),
  base_url: text().optional().describe('OpenAI-compatible endpoint, e.g. http://localhost:11434/v1'),
  api_key: text().optional(),
  max_history: positiveInt().default(D.agent.max_history).describe('Messages of history sent to the model'),
  temperature: envNumber(z.number().min(0).max(2)).optional(),
  max_output_tokens: positiveInt().optional(),
  stream: envBoolean().optional().describe('false for OpenAI-compatible servers that cannot stream replies (default true)'),
});

const StoreSchema = strict({
  backend: z.enum(STORE_BACKENDS).default(D.store.backend),
  path: text().default(D.store.path).describe('Directory of the file backend; a leading ~ is your home'),
  max_messages: positiveInt().default(D.store.max_messages).describe('Messages served and kept per session; messages a snapshot or fork still shows are held beyond it, until that snapshot or fork is deleted'),
  url: text().optional().describe('Connection URL; required for the redis and postgres backends'),
  prefix: text().default(D.store.prefix).describe('Redis key prefix'),
  schema: text().optional().describe('Postgres schema for the postgres backend (default bothost); created and migrated on start'),
  pool_size: positiveInt().optional().describe('Postgres connections per process for the postgres backend (default 10)'),
});

const QueueSchema = strict({
  backend: z.enum(QUEUE_BACKENDS).default(D.queue.backend),
  concurrency: positiveInt().default(D.queue.concurrency),
  redis_url: text()
    .optional()
    .describe('Redis for bullmq; defaults to store.url when store.backend is redis'),
  name: text().default(D.queue.name),
  intake_path: text()
    .default(D.queue.intake_path)
    .describe('Local directory of work not yet handed on (a leading ~ is your home): with the inline queue and a redis or postgres store, accepted turns until answered; with any queue, `spool/` holds messages of platforms that never redeliver (Discord, WhatsApp) that the queue refused, until forwarded. Keep it on a disk that survives restarts, one per machine. The file store keeps both under store.path'),
});

const hourOfDay = () => envNumber(z.number().int().min(0).max(23));
/** `session.reset`: every field defaults, so `reset: { mode: idle }` is enough. */
const SessionResetSchema = strict({
  mode: z.enum(RESET_MODES).default(D.session.reset.mode).describe('none, idle (after idle_minutes of quiet) or daily (at at_hour)'),
  idle_minutes: positiveInt().default(D.session.reset.idle_minutes).describe('idle mode: minutes without activity before a new conversation'),
  at_hour: hourOfDay().default(D.session.reset.at_hour).describe('daily mode: hour 0–23 in the host\'s local time zone'),
});
/** `bots[].session_reset`: overrides only the fields it sets, over `session.reset`. */
const BotSessionResetSchema = strict({
  mode: z.enum(RESET_MODES).optional(),
  idle_minutes: positiveInt().optional(),
  at_hour: hourOfDay().optional(),
});

// Loose on purpose: each platform adapter validates its own extra keys (e.g. `app_token`).
const BotSchema = loose({
  platform: z.enum(PLATFORMS),
  id: text().optional().describe('Unique bot id; defaults to the platform (plus "-<index>" if repeated)'),
  agent: text().optional().describe('Agent id; defaults to the first agent'),
  enabled: envBoolean().default(D.bot.enabled),
  token: text().optional(),
  allowed_users: UserIdList.default([]),
  unknown_user_policy: z.enum(UNKNOWN_USER_POLICIES).default(D.bot.unknown_user_policy),
  group_policy: z.enum(GROUP_POLICIES).default(D.bot.group_policy),
  session_reset: BotSessionResetSchema.optional().describe('This bot\'s session reset policy, over session.reset'),
});

const GatewaySessionSchema = strict({
  persist: envBoolean().default(D.gateway.session.persist),
  persist_path: text().default(D.gateway.session.persist_path),
  resume_window: positiveInt().default(D.gateway.session.resume_window).describe('Seconds'),
  timeout: positiveInt().default(D.gateway.session.timeout).describe('Seconds'),
  max_messages: positiveInt().default(D.gateway.session.max_messages).describe('History served per session (replay, snapshots)'),
  purge_interval: positiveInt().default(D.gateway.session.purge_interval).describe('Seconds between purges of expired sessions'),
});

const GatewayAuthSchema = strict({
  tokens: z
    .record(z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'identities are 1-64 letters, digits or . _ @ -'), text())
    .default({})
    .describe('identity → static token, e.g. `alice: ${ALICE_GATEWAY_TOKEN}`'),
  secret: z.string().refine((v) => v.length >= 16, 'too short: use 16 or more random characters').optional().describe('HMAC secret for tokens minted by `bot gateway token` (or $BOTHOST_GATEWAY_SECRET); 16+ characters'),
  token_ttl: envNumber(z.number().int().positive().max(MAX_TOKEN_TTL_SECONDS, `at most ${MAX_TOKEN_TTL_SECONDS} seconds (10 years)`)).default(D.gateway.auth.token_ttl).describe('Seconds a minted token stays valid'),
});

const GatewayLimitsSchema = strict({
  max_frame_bytes: positiveInt().default(D.gateway.limits.max_frame_bytes),
  max_message_chars: positiveInt().default(D.gateway.limits.max_message_chars),
  messages_per_minute: positiveInt().default(D.gateway.limits.messages_per_minute).describe('Per identity'),
  burst: positiveInt().default(D.gateway.limits.burst),
  max_buffered_bytes: positiveInt().default(D.gateway.limits.max_buffered_bytes).describe('Slow-consumer cut-off'),
  max_connections: positiveInt().default(D.gateway.limits.max_connections),
  max_pending: positiveInt().default(D.gateway.limits.max_pending).describe('Turns waiting per session'),
});

const GatewaySchema = strict({
  enabled: envBoolean().default(D.gateway.enabled),
  host: text().default(D.gateway.host),
  port: envNumber(z.number().int().min(1).max(65_535)).default(D.gateway.port),
  agent: text().optional().describe('Agent id; defaults to the first agent'),
  allow_loopback_without_auth: envBoolean().default(D.gateway.allow_loopback_without_auth),
  // `.prefault({})` (not `.default({})`) so the inner defaults are applied to the empty object.
  session: GatewaySessionSchema.prefault({}),
  auth: GatewayAuthSchema.prefault({}),
  limits: GatewayLimitsSchema.prefault({}),
});

const RawConfigSchema = strict({
  agents: z.record(z.string(), z.preprocess((v) => v ?? {}, AgentSchema)).prefault({ [D.agent_id]: {} }),
  store: StoreSchema.prefault({}),
  queue: QueueSchema.prefault({}),
  session: strict({ scope: z.enum(SESSION_SCOPES).default(D.session.scope), reset: SessionResetSchema.prefault({}) }).prefault({}),
  bots: z.array(BotSchema).default([]),
  gateway: GatewaySchema.prefault({}),
  log: strict({
    level: z.enum(LOG_LEVELS).default(D.log.level),
    format: z.enum(LOG_FORMATS).default(D.log.format).describe('json lines, pretty (human-readable), or auto: pretty on a terminal, else json'),
  }).prefault({}),
  metrics: strict({
    enabled: envBoolean().default(D.metrics.enabled).describe('Serve /metrics, /healthz and /readyz from every long-running role'),
    host: text().default(D.metrics.host).describe('Address of the metrics listener (the gateway serves them on its own port)'),
    port: envNumber(z.number().int().min(0).max(65_535)).default(D.metrics.port).describe('Port of the metrics listener; 0 picks a free one'),
  }).prefault({}),
  admin: strict({
    enabled: envBoolean().default(D.admin.enabled).describe("Serve /admin/ (stuck sessions, dead letters, the Bull Board queue view) on the gateway's port"),
    identities: z
      .array(z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'identities are 1-64 letters, digits or . _ @ -'))
      .default([])
      .describe("Gateway identities (gateway.auth tokens) allowed into /admin/; nobody else, not even loopback"),
  }).prefault({}),
});
type RawConfig = z.output<typeof RawConfigSchema>;

/** Bot ids as the transform assigns them: `id`, else the platform, suffixed by index if it repeats. */
export function defaultBotIds(bots: readonly unknown[]): (string | undefined)[] {
  const platformOf = (b: unknown) => (isRecord(b) && typeof b.platform === 'string' ? b.platform : undefined);
  const count = new Map<string, number>();
  for (const b of bots) {
    const p = platformOf(b);
    if (p) count.set(p, (count.get(p) ?? 0) + 1);
  }
  return bots.map((b, i) => {
    if (isRecord(b) && typeof b.id === 'string') return b.id;
    const p = platformOf(b);
    return p && (count.get(p) ?? 0) > 1 ? `${p}-${i}` : p;
  });
}

const choices = (ids: readonly string[]) => ids.join(', ') || '(none)';

/**
 * Cross-field rules. Runs even when other fields already failed (`when`), so one run reports
 * every problem; hence it reads the partly-parsed value defensively.
 */
function checkReferences(value: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(value)) return;
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const agentIds = isRecord(value.agents) ? Object.keys(value.agents) : null;
  if (agentIds?.length === 0) {
    issue(['agents'], 'no agents defined; add one (e.g. `assistant: {}`) or remove `agents:` to use the built-in one');
  }
  const checkAgent = (path: (string | number)[], ref: unknown) => {
    if (agentIds && agentIds.length > 0 && typeof ref === 'string' && !agentIds.includes(ref)) {
      issue(path, `unknown agent "${ref}"; choose one of ${choices(agentIds)} (or add it under agents)`);
    }
  };
  if (Array.isArray(value.bots)) {
    const ids = defaultBotIds(value.bots);
    const firstIndex = new Map<string, number>();
    value.bots.forEach((bot, i) => {
      if (isRecord(bot)) checkAgent(['bots', i, 'agent'], bot.agent);
      const id = ids[i];
      if (id === undefined) return;
      const first = firstIndex.get(id);
      if (first === undefined) firstIndex.set(id, i);
      else issue(['bots', i, 'id'], `duplicate bot id "${id}" (also used by bots[${first}]); give each bot a unique id`);
    });
  }
  if (isRecord(value.gateway)) checkAgent(['gateway', 'agent'], value.gateway.agent);
  const store = isRecord(value.store) ? value.store : {};
  if ((store.backend === 'redis' || store.backend === 'postgres') && store.url === undefined) {
    const example = store.backend === 'redis' ? 'redis://localhost:6379' : 'postgres://localhost:5432/bothost` or `url: ${DATABASE_URL}';
    issue(['store', 'url'], `required for the ${store.backend} backend; add e.g. \`url: ${example}\``);
  }
  const queue = isRecord(value.queue) ? value.queue : {};
  if (queue.backend === 'bullmq' && queue.redis_url === undefined && store.backend !== 'redis') {
    const fix = 'add e.g. `redis_url: redis://localhost:6379`';
    issue(['queue', 'redis_url'], `required for the bullmq backend unless store.backend is redis; ${fix}`);
  }
  // Workers of the bullmq queue may run on other machines: each would see its own history and
  // its own dedupe with a per-process store, and fences need the lease's Redis.
  if (queue.backend === 'bullmq' && (store.backend ?? 'file') !== 'redis' && store.backend !== 'postgres') {
    issue(['store', 'backend'], `queue.backend bullmq needs a store every worker shares; set \`store.backend: redis\` (got "${String(store.backend ?? 'file')}")`);
  }
}

function applyDerivedDefaults(raw: RawConfig) {
  const agentIds = Object.keys(raw.agents);
  const firstAgent = agentIds[0] ?? D.agent_id; // checkReferences guarantees at least one agent
  const ids = defaultBotIds(raw.bots);
  const redisUrl = raw.queue.redis_url ?? (raw.store.backend === 'redis' ? raw.store.url : undefined);
  return {
    ...raw,
    agents: Object.fromEntries(Object.entries(raw.agents).map(([id, a]) => [id, { ...a, name: a.name ?? id }])),
    queue: { ...raw.queue, ...(redisUrl === undefined ? {} : { redis_url: redisUrl }) },
    bots: raw.bots.map((b, i) => ({ ...b, id: ids[i] ?? b.platform, agent: b.agent ?? firstAgent })),
    gateway: { ...raw.gateway, agent: raw.gateway.agent ?? firstAgent },
  };
}

/**
 * The whole of bots.yaml. Parse with `reportInput: true` to get good messages (see load.ts).
 * @example BotsConfigSchema.parse({}).gateway.port === 8765
 */
export const BotsConfigSchema = RawConfigSchema.superRefine(checkReferences, { when: (p) => isRecord(p.value) }).transform(
  applyDerivedDefaults,
);

/** The validated config, every default applied. */
export type BotsConfig = z.output<typeof BotsConfigSchema>;
export type AgentConfig = BotsConfig['agents'][string];
export type BotConfig = BotsConfig['bots'][number];
export type StoreConfig = BotsConfig['store'];
export type QueueConfig = BotsConfig['queue'];
export type GatewayConfig = BotsConfig['gateway'];
export type Platform = (typeof PLATFORMS)[number];
export type MetricsConfig = BotsConfig['metrics'];
export type AdminConfig = BotsConfig['admin'];
export type LogFormat = (typeof LOG_FORMATS)[number];
