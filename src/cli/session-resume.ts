/**
 * `bot session resume <id>`: continue a stored session (a fork, a reverted session, any) in the
 * terminal, with its history shown first; `--continue "text"` runs one turn and exits. Turns go
 * through the same host, ingress and queue as `bot chat`; the history the agent sees is the
 * session's stitched history.
 */
import type { Command } from 'commander';
import { UnknownNameError } from '../core/errors.js';
import type { SessionEntry } from '../core/session-store.js';
import { SessionNotFoundError } from '../sessions/hierarchy/errors.js';
import { interactive, oneShot } from './chat-run.js';
import { openConsoleChat } from './console-adapter.js';
import { action, commandLogger, openHost, warnAboutModels } from './context.js';
import { addStoreOption, cursorArg, loadWithStore, out, showId } from './session-shared.js';

interface ResumeOptions {
  continue?: string;
  agent?: string;
  history: number;
  showHistory?: boolean;
  json?: boolean;
}

function printHistory(id: string, entries: SessionEntry[], total: number): void {
  const shown = entries.length < total ? `, the last ${entries.length}` : '';
  out(`── session ${showId(id)}: ${total} messages${shown} ──`);
  for (const e of entries) {
    const who = e.role === 'user' ? 'you' : e.role === 'assistant' ? 'bot' : e.role;
    out(`#${e.cursor} ${who} › ${e.content}`);
  }
  if (entries.length === 0) out('(no messages yet)');
  out('──');
}

export function registerSessionResume(session: Command): void {
  addStoreOption(
    session
      .command('resume <id>')
      .description('continue a stored session in the terminal, its history shown first')
      .option('--continue <text>', 'send one message, print the reply and exit')
      .option('--history <n>', 'how many of the newest messages to show first (0: none)', cursorArg('--history'), 20)
      .option('--show-history', 'with --continue: show the history before the reply too')
      .option('-a, --agent <name>', 'agent from bots.yaml (default: the first one)')
      .option('--json', 'with --continue: print {session, reply, cursor} as JSON')
      .addHelpText('after', '\nExamples:\n  bot session resume demo\n  bot session resume demo --continue "What did we discuss?"'),
  ).action(
    action(async (id: string, opts: ResumeOptions, cmd: Command) => {
      const loaded = await loadWithStore(cmd);
      const agentIds = Object.keys(loaded.config.agents);
      const agent = opts.agent ?? agentIds[0]!;
      if (!agentIds.includes(agent)) throw new UnknownNameError('agent', agent, agentIds);
      const host = await openHost(loaded, commandLogger(), { terminal: true });
      try {
        const info = await host.sessions.getSession(id);
        if (!info) throw new SessionNotFoundError(id);
        for (const n of host.notices) process.stderr.write(`note: ${n}\n`);
        await warnAboutModels(host.config, (w) => process.stderr.write(`warning: ${w}\n`));
        const showHistory = opts.continue === undefined ? opts.history > 0 : opts.showHistory === true && !opts.json;
        if (showHistory) {
          const entries = opts.history > 0 ? await host.sessions.getEntries(id) : [];
          printHistory(id, entries.slice(-opts.history), info.messageCount);
        }
        const chat = openConsoleChat(host, { sessionId: id, agent });
        try {
          if (opts.continue !== undefined) return await oneShot(chat, opts.continue, opts.json === true, (c) => host.sessions.toViewCursor(id, c));
          return await interactive(chat, host.agents(agent).name);
        } finally {
          chat.close();
        }
      } finally {
        await host.close();
      }
    }),
  );
}
