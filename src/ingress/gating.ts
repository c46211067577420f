/**
 * Group gating and session keys.
 * - direct chats always pass;
 * - groups follow `group_policy`: `mention_only` (an @mention, a reply to the bot, or a
 *   command), `respond_all`, or `command_only`.
 */
import { sessionKey } from '../core/session-key.js';
import { parseCommand } from './commands.js';
import type { Middleware } from './pipeline.js';

export function mentionGate(): Middleware {
  return async (ctx, next) => {
    const m = ctx.message;
    if (m.isDirect || ctx.bot.groupPolicy === 'respond_all') return next();
    const isCommand = parseCommand(m.text) !== null;
    const addressed = m.mentionsBot || m.replyTo?.isBot === true;
    if (isCommand || (ctx.bot.groupPolicy === 'mention_only' && addressed)) return next();
    ctx.outcome = 'ignored';
  };
}

/** The session key from the bot's scope, unless the adapter carries an explicit session id. */
export function assignSession(): Middleware {
  return async (ctx, next) => {
    const m = ctx.message;
    ctx.sessionId =
      m.sessionId ??
      sessionKey(m.platform, m.userId, {
        scope: m.isDirect && ctx.bot.scope !== 'per_thread' ? 'per_user' : ctx.bot.scope,
        chatId: m.chatId,
        ...(m.threadId !== undefined ? { threadId: m.threadId } : {}),
      });
    return next();
  };
}
