/**
 * Slack Web API failures → what to do, in one table. WebClient errors carry either a platform
 * error string (`{ ok: false, error: 'channel_not_found' }`), a 429 with Retry-After, an HTTP
 * status, or a request error (network failure or our timeout: the call may have reached Slack).
 */
export type ApiDecision =
  /** 429 / `ratelimited`: wait Retry-After, then send the same call again (it did not run). */
  | 'wait_and_retry'
  /** The token is wrong, revoked or of the wrong type: stop the bot and tell the operator. */
  | 'fatal'
  /** The channel refuses the bot (gone, archived, bot not a member, scope missing): drop, log. */
  | 'drop'
  /** The message to edit is gone or can no longer be edited: post the text as a new message. */
  | 'send_new'
  /** Nothing to do (the reaction is already there / already gone). */
  | 'ignore'
  /** Slack refused the markup: send the plain text. */
  | 'format_rejected'
  /** The call may or may not have taken effect (timeout, network, Slack's `fatal_error`). */
  | 'ambiguous'
  /** Slack is unwell (5xx, `internal_error`): the call did not run; retry later. */
  | 'backoff'
  /** Anything else: a bad request; log it, do not retry. */
  | 'fail';

const BY_ERROR: Readonly<Record<string, ApiDecision>> = {
  ratelimited: 'wait_and_retry',
  rate_limited: 'wait_and_retry',
  invalid_auth: 'fatal',
  not_authed: 'fatal',
  token_revoked: 'fatal',
  token_expired: 'fatal',
  account_inactive: 'fatal',
  not_allowed_token_type: 'fatal',
  org_login_required: 'fatal',
  ekm_access_denied: 'fatal',
  team_access_not_granted: 'fatal',
  channel_not_found: 'drop',
  not_in_channel: 'drop',
  is_archived: 'drop',
  cannot_dm_bot: 'drop',
  restricted_action: 'drop',
  restricted_action_read_only_channel: 'drop',
  restricted_action_thread_only_channel: 'drop',
  restricted_action_non_threadable_channel: 'drop',
  user_disabled: 'drop',
  missing_scope: 'drop',
  access_denied: 'drop',
  no_permission: 'drop',
  message_not_found: 'send_new',
  cant_update_message: 'send_new',
  edit_window_closed: 'send_new',
  already_reacted: 'ignore',
  no_reaction: 'ignore',
  too_many_reactions: 'ignore',
  invalid_blocks: 'format_rejected',
  invalid_blocks_format: 'format_rejected',
  invalid_attachments: 'format_rejected',
  fatal_error: 'ambiguous',
  internal_error: 'backoff',
  service_unavailable: 'backoff',
  request_timeout: 'backoff',
};

/** The platform error string of a WebClient error, if it is one. */
export function slackErrorOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; data?: { error?: unknown } } | undefined;
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string' ? e.data.error : undefined;
}

/** Seconds to wait for a rate-limited call, if it was rate limited. */
export function retryAfterOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; retryAfter?: unknown } | undefined;
  if (e?.code === 'slack_webapi_rate_limited_error' && typeof e.retryAfter === 'number') return e.retryAfter;
  if (slackErrorOf(err) === 'ratelimited') return 1;
  return undefined;
}

export function decisionOf(err: unknown): ApiDecision {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  if (e?.code === 'slack_webapi_rate_limited_error') return 'wait_and_retry';
  const platform = slackErrorOf(err);
  if (platform !== undefined) return BY_ERROR[platform] ?? 'fail';
  if (e?.code === 'slack_webapi_http_error') return typeof e.statusCode === 'number' && e.statusCode >= 500 ? 'backoff' : 'fail';
  if (e?.code === 'slack_webapi_request_error') return 'ambiguous';
  return 'fail';
}

/** A short description for logs (never the request, which may carry the token). */
export function describeSlackError(err: unknown): string {
  const platform = slackErrorOf(err);
  if (platform) return platform;
  const e = err as { code?: unknown; statusCode?: unknown; retryAfter?: unknown; original?: { message?: unknown }; message?: unknown } | undefined;
  if (e?.code === 'slack_webapi_rate_limited_error') return `rate limited (retry after ${String(e.retryAfter)} s)`;
  if (e?.code === 'slack_webapi_http_error') return `HTTP ${String(e.statusCode)}`;
  if (e?.code === 'slack_webapi_request_error') return `request failed: ${String(e.original?.message ?? 'unknown')}`;
  return typeof e?.message === 'string' ? e.message : String(err);
}
