/**
 * `allowed_users` + `unknown_user_policy`. Listed users always pass; others pass only when the
 * policy is `allow`. A refused user is told so in a direct chat and ignored silently in groups.
 */
import type { Middleware } from './pipeline.js';

export const REFUSAL_TEXT = 'Sorry, this bot only talks to people its operator has allowed.';

export function allowlist(): Middleware {
  return async (ctx, next) => {
    const { allowedUsers, unknownUserPolicy } = ctx.bot;
    const { userId, userName } = ctx.message;
    const listed = allowedUsers.includes(userId) || (userName !== undefined && allowedUsers.includes(userName));
    if (listed || unknownUserPolicy === 'allow') return next();
    ctx.outcome = 'denied';
    if (ctx.message.isDirect) await ctx.reply(REFUSAL_TEXT);
  };
}
