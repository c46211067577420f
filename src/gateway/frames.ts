/**
 * The wire protocol, validated at the edge with zod (docs/gateway.md). Client frames are
 * parsed here and nowhere else; server frames are typed here.
 */
import { z } from 'zod';
import { GATEWAY_TIMINGS } from './constants.js';

const SessionIdField = z
  .string()
  .min(1, 'session_id is empty')
  .max(GATEWAY_TIMINGS.maxSessionIdChars, `session_id is longer than ${GATEWAY_TIMINGS.maxSessionIdChars} characters`)
  .refine((s) => s.isWellFormed() && !/[\u0000-\u001f\u007f]/u.test(s), 'session_id has control characters or a lone surrogate');
const ClientIdField = z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'id may only use letters, digits and _ . : -').max(GATEWAY_TIMINGS.maxClientIdChars);

export const JoinFrame = z.object({
  type: z.literal('join'),
  agent_id: z.string().min(1).max(128).optional(),
  session_id: SessionIdField.optional(),
  since: z.number().int('since must be a whole number').min(0, 'since must be ≥ 0').max(Number.MAX_SAFE_INTEGER).optional(),
  token: z.string().min(1).max(4096).optional(),
  /** Ask for `stream` frames while the model writes (default false). */
  stream: z.boolean().optional(),
});

export const MessageFrame = z.object({
  type: z.literal('message'),
  content: z.string(),
  /** Client-chosen id: resending with the same id never runs the turn twice. */
  id: ClientIdField.optional(),
  stream: z.boolean().optional(),
});

export const PingFrame = z.object({ type: z.literal('ping') });

export type JoinFrame = z.infer<typeof JoinFrame>;
export type MessageFrame = z.infer<typeof MessageFrame>;
export type ClientFrame = JoinFrame | MessageFrame | z.infer<typeof PingFrame>;

const BY_TYPE = { join: JoinFrame, message: MessageFrame, ping: PingFrame } as const;

/** Error codes a client can match on. */
export type ErrorCode =
  | 'bad_frame'
  | 'bad_since'
  | 'future_since'
  | 'unauthorized'
  | 'forbidden'
  | 'unknown_agent'
  | 'agent_mismatch'
  | 'not_joined'
  | 'already_joined'
  | 'empty_message'
  | 'too_long'
  | 'rate_limited'
  | 'busy'
  | 'unavailable'
  | 'turn_failed';

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; code: ErrorCode; message: string };

/** Parse one text frame. Never throws. */
export function parseClientFrame(raw: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, code: 'bad_frame', message: 'frame is not JSON; send {"type": "join" | "message" | "ping", …}' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_frame', message: 'frame must be a JSON object with a "type"' };
  }
  const type = (value as { type?: unknown }).type;
  const schema = typeof type === 'string' && Object.hasOwn(BY_TYPE, type) ? BY_TYPE[type as keyof typeof BY_TYPE] : undefined;
  if (!schema) {
    return { ok: false, code: 'bad_frame', message: `unknown frame type ${JSON.stringify(type)}; expected "join", "message" or "ping"` };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'frame';
  const code: ErrorCode = field === 'since' ? 'bad_since' : 'bad_frame';
  return { ok: false, code, message: `${type} frame: ${field}: ${issue.message}` };
}

/** An event of the session log as clients see it (live frames and `replay.event`). */
export type LogEvent =
  | { type: 'message'; role: 'user'; content: string; cursor: number; ts: number; id?: string }
  | { type: 'response'; role: 'assistant'; content: string; cursor: number; ts: number; reply_to?: string }
  | { type: 'event'; role: string; content: string; cursor: number; ts: number };

export type ServerFrame =
  | { type: 'joined'; session_id: string; agent_id: string; agent_name: string; resumed: boolean; cursor: number; identity: string; pending: { id: string; content: string }[]; executing: boolean }
  | { type: 'replay'; event: LogEvent; cursor: number }
  | { type: 'resync'; reason: 'retention' | 'not_found' | 'cleared'; cursor: number; snapshot: LogEvent[] }
  | LogEvent
  | { type: 'accepted'; id: string; duplicate?: boolean }
  | { type: 'typing'; reply_to?: string }
  | { type: 'stream'; reply_to?: string; offset: number; delta: string }
  | { type: 'stream_end'; reply_to?: string; cursor: number }
  | { type: 'notice'; content: string; cursor: number }
  /** `reply_to` names the client's message an error is about (rate_limited, busy, too_long, …). */
  | { type: 'error'; code: ErrorCode; message: string; cursor: number; retry_after_ms?: number; reply_to?: string }
  | { type: 'pong' };
