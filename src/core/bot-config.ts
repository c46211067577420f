/** The bots.yaml keys every platform entry shares, as zod shapes its schema spreads. */
import { z } from 'zod';

/**
 * The keys every bots[] entry has (already validated by the bots.yaml schema); adapters spread
 * this into their own strict schema so a typo in a platform key is reported with a suggestion.
 */
export const COMMON_BOT_CONFIG = {
  platform: z.string(),
  id: z.string(),
  agent: z.string(),
  enabled: z.boolean(),
  token: z.string().optional(),
  allowed_users: z.array(z.string()),
  unknown_user_policy: z.enum(['allow', 'deny']),
  group_policy: z.enum(['mention_only', 'respond_all', 'command_only']),
} as const;

/** `leader` and `leader_ttl_ms`, for single-connection platforms. */
export const LEADER_CONFIG = {
  leader: z.enum(['auto', 'redis', 'none']).default('auto').describe('Who holds the connection: auto uses a Redis lease when bots.yaml configures Redis'),
  leader_ttl_ms: z
    .preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().positive())
    .default(10_000)
    .describe('How long a dead holder blocks takeover'),
} as const;

