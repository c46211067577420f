/**
 * The wire protocol, validated at the edge with zod (docs/gateway.md). Client frames are
 * parsed here and nowhere else; server frames are typed here.
 */
import { z } from 'zod';
import { GATEWAY_TIMINGS } from './constants.js';

const SessionIdField = z
  .string()
  .min(1, 'session_id is empty')
  // Characters are code points: an emoji is one, as a reader counts it (not two UTF-16 units).
  .max(GATEWAY_TIMINGS.maxSessionIdChars * 2, `session_id is longer than ${GATEWAY_TIMINGS.maxSessionIdChars} characters`)
  .refine((s) => codePoints(s) <= GATEWAY_TIMINGS.maxSessionIdChars, `session_id is longer than ${GATEWAY_TIMINGS.maxSessionIdChars} characters`)
  .refine((s) => s.isWellFormed() && !/[\u0000-\u001f\u007f]/u.test(s), 'session_id has control characters or a lone surrogate');
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

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

/** Stop the joined session's reply being written (the message `id` it answers; absent: the running one). */
export const StopFrame = z.object({ type: z.literal('stop'), id: ClientIdField.optional() });

/** The sessions this connection's identity owns, newest first. */
export const ListSessionsFrame = z.object({ type: z.literal('list_sessions'), limit: z.number().int().min(1).max(1000).optional() });

const TitleField = z.string().trim().min(1, 'title is empty').max(GATEWAY_TIMINGS.maxTitleChars, `title is longer than ${GATEWAY_TIMINGS.maxTitleChars} characters`);

/** Rename one of the identity's sessions (its title in `sessions`). */
export const RenameSessionFrame = z.object({ type: z.literal('rename_session'), session_id: SessionIdField, title: TitleField });

/** Delete one of the identity's sessions: its log and metadata; a reply being written is stopped first. */
export const DeleteSessionFrame = z.object({ type: z.literal('delete_session'), session_id: SessionIdField });

export type JoinFrame = z.infer<typeof JoinFrame>;
export type MessageFrame = z.infer<typeof MessageFrame>;
export type StopFrame = z.infer<typeof StopFrame>;
export type ListSessionsFrame = z.infer<typeof ListSessionsFrame>;
export type RenameSessionFrame = z.infer<typeof RenameSessionFrame>;
export type DeleteSessionFrame = z.infer<typeof DeleteSessionFrame>;
export type SessionAdminFrame = ListSessionsFrame | RenameSessionFrame | DeleteSessionFrame;
export type ClientFrame = JoinFrame | MessageFrame | z.infer<typeof PingFrame> | StopFrame | SessionAdminFrame;

const BY_TYPE = {
  join: JoinFrame,
  message: MessageFrame,
  ping: PingFrame,
  stop: StopFrame,
  list_sessions: ListSessionsFrame,
  rename_session: RenameSessionFrame,
  delete_session: DeleteSessionFrame,
} as const;
const TYPE_NAMES = Object.keys(BY_TYPE).map((t) => `"${t}"`).join(', ');

/** Error codes a client can match on. */
export type ErrorCode =
  | 'bad_frame'
  | 'bad_since'
  | 'future_since'
  | 'unauthorized'
  | 'forbidden'
  /** The joined session was deleted or expired: join again to start it anew. */
  | 'not_found'
  | 'unknown_agent'
  | 'agent_mismatch'
  | 'not_joined'
  | 'already_joined'
  | 'empty_message'
  | 'too_long'
  | 'rate_limited'
  | 'busy'
  | 'unavailable'
  | 'turn_failed'
  /** A `stop` found no reply being written (it had just ended, or is still queued). */
  | 'not_running';

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; code: ErrorCode; message: string };

/** No client frame nests deeper than this; deeper JSON is refused before it is parsed. */
export const MAX_FRAME_DEPTH = 16;

/** Parse one text frame. Never throws: whatever the input, a frame or a `bad_frame`. */
export function parseClientFrame(raw: string): ParseResult {
  try {
    return parseFrame(raw);
  } catch (err) {
    // A RangeError (stack) from a hostile shape the checks below did not foresee is still the client's fault.
    return { ok: false, code: 'bad_frame', message: `frame could not be read (${(err as Error).name}); send {"type": "join" | "message" | "ping", …}` };
  }
}

function parseFrame(raw: string): ParseResult {
  if (nestingDepth(raw, MAX_FRAME_DEPTH) > MAX_FRAME_DEPTH) {
    return { ok: false, code: 'bad_frame', message: `frame is nested more than ${MAX_FRAME_DEPTH} levels deep` };
  }
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
    const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : type === null ? 'null' : `of type ${Array.isArray(type) ? 'array' : typeof type}`;
    return { ok: false, code: 'bad_frame', message: `unknown frame type ${shown}; expected one of ${TYPE_NAMES}` };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'frame';
  const code: ErrorCode = field === 'since' ? 'bad_since' : 'bad_frame';
  return { ok: false, code, message: `${type} frame: ${field}: ${issue.message}` };
}

/** The deepest `[`/`{` nesting of a JSON text outside strings, counted up to `limit + 1`. */
export function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** An event of the session log as clients see it (live frames and `replay.event`). */
export type LogEvent =
  | { type: 'message'; role: 'user'; content: string; cursor: number; ts: number; id?: string }
  /** `stopped`: the user stopped the reply; `content` is what had been written by then. */
  | { type: 'response'; role: 'assistant'; content: string; cursor: number; ts: number; reply_to?: string; stopped?: true }
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
  /** `session_id`: the session a `rename_session` / `delete_session` refused was about (not the joined one). */
  | { type: 'error'; code: ErrorCode; message: string; cursor: number; retry_after_ms?: number; reply_to?: string; session_id?: string }
  | { type: 'pong' }
  /** A `stop` reached the turn (embedded) or the workers (distributed); the `response` that follows has `stopped: true`. */
  | { type: 'stopping'; reply_to?: string }
  | { type: 'sessions'; sessions: SessionSummary[] }
  | { type: 'session_renamed'; session_id: string; title: string }
  | { type: 'session_deleted'; session_id: string };

/** One entry of a `sessions` frame. */
export interface SessionSummary {
  session_id: string;
  /** Set by `rename_session`, else the start of the first message. */
  title?: string;
  created_at: number;
  updated_at: number;
  last_cursor: number;
}
