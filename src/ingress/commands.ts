/**
 * Slash commands every bot understands: /start, /help, /new, /status. `/cmd@otherbot` is for
 * another bot and is ignored; unknown commands go to the agent as ordinary text.
 */
import type { SessionLog } from '../core/session-store.js';
import type { Middleware } from './pipeline.js';

export interface CommandDeps {
  store: Pick<SessionLog, 'clearSession' | 'getSession'>;
  /** Human description of the agent and model for /start and /status. */
  describeAgent(agentId: string): { name: string; model: string };
}

export const COMMANDS = Object.freeze({
  start: 'say hello and explain what I do',
  help: 'list the commands',
  new: 'start a new conversation (forget this one)',
  status: 'show this session: id, messages, model',
});

const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+([\s\S]*))?$/;

/** Parse `/name@bot args`; null when the text is not a command. */
export function parseCommand(text: string): { name: string; target?: string; args: string } | null {
  const m = COMMAND.exec(text.trim());
  if (!m) return null;
  return { name: m[1]!.toLowerCase(), ...(m[2] ? { target: m[2] } : {}), args: (m[3] ?? '').trim() };
}

export function helpText(): string {
  return ['Commands:', ...Object.entries(COMMANDS).map(([c, d]) => `/${c} — ${d}`)].join('\n');
}

export function commands(deps: CommandDeps): Middleware {
  return async (ctx, next) => {
    const parsed = parseCommand(ctx.message.text);
    if (!parsed) return next();
    if (parsed.target && ctx.bot.username && parsed.target.toLowerCase() !== ctx.bot.username.toLowerCase()) {
      ctx.outcome = 'ignored';
      return;
    }
    if (!(parsed.name in COMMANDS)) return next();
    ctx.command = { name: parsed.name, args: parsed.args };
    ctx.outcome = 'command';
    const sessionId = ctx.sessionId!;
    const agent = deps.describeAgent(ctx.bot.agent);
    switch (parsed.name) {
      case 'start': {
        const who = ctx.message.userName ? `, ${ctx.message.userName}` : '';
        await ctx.reply(`Hi${who}! I'm ${agent.name}. Send me a message and I'll answer — I remember our conversation, even after restarts.\n${helpText()}`);
        return;
      }
      case 'help':
        await ctx.reply(helpText());
        return;
      case 'new': {
        const existed = await deps.store.clearSession(sessionId);
        await ctx.reply(existed ? 'Started a new conversation; I have forgotten the previous one.' : 'This is already a new conversation.');
        return;
      }
      case 'status': {
        const info = await deps.store.getSession(sessionId);
        const lines = [
          `Session: ${sessionId}`,
          `Messages kept: ${info?.messageCount ?? 0}`,
          `Last activity: ${info ? new Date(info.updatedAt).toISOString() : 'never'}`,
          `Agent: ${agent.name} (model: ${agent.model})`,
        ];
        await ctx.reply(lines.join('\n'));
        return;
      }
    }
  };
}
