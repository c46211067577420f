/**
 * Bot API failures → what to do, in one table. Matched on the HTTP-like
 * `error_code` and, for 400s, on Telegram's description text (its only stable signal).
 */
export type ApiDecision =
  /** 429: wait `retry_after` seconds and send the same call again. */
  | 'wait_and_retry'
  /** The formatting was rejected: send the same text without parse_mode. */
  | 'resend_plain'
  /** The edit changed nothing: already shown, nothing to do. */
  | 'ignore'
  /** The message to edit is gone (deleted, too old): send the text as a new message. */
  | 'send_new'
  /** The group became a supergroup (new chat id in `parameters.migrate_to_chat_id`): send there. */
  | 'migrate'
  /** The user blocked the bot, the chat is gone, no rights: drop this reply, log it. */
  | 'drop'
  /** The token is wrong or revoked: stop this bot, tell the operator. */
  | 'fatal'
  /** Another getUpdates caller or a webhook is active: back off, let leadership sort it out. */
  | 'conflict'
  /** Telegram is having trouble (5xx) or the network failed: back off and retry idempotent calls. */
  | 'backoff'
  /** Anything else: a bug or a bad request; log it and do not retry. */
  | 'fail';

const RULES: ReadonlyArray<{ code?: number; description?: RegExp; decision: ApiDecision }> = [
  { code: 429, decision: 'wait_and_retry' },
  { code: 401, decision: 'fatal' },
  { code: 404, description: /not found/i, decision: 'fatal' },
  { code: 409, decision: 'conflict' },
  { code: 400, description: /can't parse entities|can't find end of the entity|unsupported start tag|unclosed|entity/i, decision: 'resend_plain' },
  { code: 400, description: /message is not modified/i, decision: 'ignore' },
  { code: 400, description: /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i, decision: 'send_new' },
  { code: 400, description: /group chat was upgraded to a supergroup/i, decision: 'migrate' },
  { code: 400, description: /chat not found|message thread not found|have no rights|not enough rights|CHAT_WRITE_FORBIDDEN/i, decision: 'drop' },
  { code: 403, decision: 'drop' },
];

export function decideApiError(code: number | undefined, description = ''): ApiDecision {
  if (code === undefined) return 'backoff';
  for (const rule of RULES) {
    if (rule.code !== undefined && rule.code !== code) continue;
    if (rule.description && !rule.description.test(description)) continue;
    return rule.decision;
  }
  return code >= 500 ? 'backoff' : 'fail';
}

/** The decision for an error thrown by grammY (GrammyError has error_code; HttpError is the network). */
export function decisionOf(err: unknown): ApiDecision {
  const e = err as { error_code?: unknown; description?: unknown } | undefined;
  if (e && typeof e.error_code === 'number') return decideApiError(e.error_code, typeof e.description === 'string' ? e.description : '');
  return 'backoff';
}
