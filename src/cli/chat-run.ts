/**
 * What `bot chat` does once its arguments are read (by commander in chat-command.ts, or by
 * chat-args.ts on the fast path): one turn with `--message`, else an interactive chat.
 */
import { BotHostError, UnknownNameError } from '../core/errors.js';
import type { TurnQueue } from '../core/turn-queue.js';
import { assertSessionId } from '../core/session-id.js';
import { DEFAULT_CHAT_TIMEOUT_S, type ChatOptions } from './chat-args.js';
import { defaultConsoleSession, openConsoleChat, type ConsoleAnswer, type ConsoleChat } from './console-adapter.js';
import { commandLogger, EXIT, loadForCommand, openHost, warnAboutModels, type GlobalOptions } from './context.js';

/** What interactive `/help` adds to the host's list of commands. */
export const CONSOLE_EXIT_HELP = '/exit — leave the chat (also /quit or Ctrl-D); the session is kept';

/** With --message in distributed mode: when to say that no worker has taken the turn yet. */
const NO_WORKER_NOTICE_MS = 3_000;

export async function runChat(opts: ChatOptions, globals: GlobalOptions): Promise<number> {
  const loaded = await loadForCommand(globals);
  const agentIds = Object.keys(loaded.config.agents);
  const agent = opts.agent ?? agentIds[0]!;
  if (!agentIds.includes(agent)) throw new UnknownNameError('agent', agent, agentIds);
  const sessionId = opts.session ?? defaultConsoleSession();
  assertSessionId(sessionId);
  const host = await openHost(loaded, commandLogger(), { terminal: true });
  const chat = openConsoleChat(host, { sessionId, agent });
  try {
    for (const n of host.notices) process.stderr.write(`note: ${n}\n`);
    // Awaited (bounded by a short timeout): the warning belongs before the first answer.
    await warnAboutModels(host.config, (w) => process.stderr.write(`warning: ${w}\n`));
    if (opts.message !== undefined) {
      if (opts.message.trim() === '') throw new BotHostError('EMPTY_MESSAGE', '--message is empty: give the text to send, e.g. --message "hello"');
      const waiting = watchForWorkers(host.queue, opts.timeout ?? DEFAULT_CHAT_TIMEOUT_S);
      try {
        return await Promise.race([oneShot(chat, opts.message, opts.json === true), waiting.gaveUp]);
      } finally {
        waiting.stop();
      }
    }
    return await interactive(chat, host.agents(agent).name);
  } finally {
    chat.close();
    await host.close();
  }
}

/**
 * While a one-shot message waits in a distributed queue: after a few seconds, say so if no
 * worker is connected (the message waits for one); after `timeoutS`, give up with an error.
 */
function watchForWorkers(queue: TurnQueue, timeoutS: number): { gaveUp: Promise<never>; stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  const gaveUp = new Promise<never>((_, reject) => {
    timers.push(
      setTimeout(() => {
        reject(new BotHostError('CHAT_TIMEOUT', `no reply within ${timeoutS} s; the message stays queued and is answered when a worker takes it (raise --timeout to wait longer)`));
      }, timeoutS * 1000),
    );
  });
  gaveUp.catch(() => undefined);
  if (queue.workerCount) {
    timers.push(
      setTimeout(() => {
        void queue.workerCount!().then(
          (n) => n === 0 && process.stderr.write('queued: no `bot worker` is running to take it yet — start one with `npx bot worker` (the message waits for it)\n'),
          () => undefined,
        );
      }, NO_WORKER_NOTICE_MS),
    );
  }
  return { gaveUp, stop: () => timers.forEach(clearTimeout) };
}

/** `viewCursor` maps the reply's store cursor to the session's history cursor (bot session resume). */
export async function oneShot(chat: ConsoleChat, text: string, json: boolean, viewCursor?: (storeCursor: number) => Promise<number>): Promise<number> {
  const answer = await chat.send(text);
  if (json) {
    const cursor = 'cursor' in answer ? ((await viewCursor?.(answer.cursor)) ?? answer.cursor) : undefined;
    const notice = 'notice' in answer && answer.notice !== undefined ? { notice: answer.notice } : {};
    process.stdout.write(`${JSON.stringify({ session: chat.sessionId, kind: answer.kind, reply: answer.text, ...(cursor !== undefined ? { cursor } : {}), ...notice })}\n`);
  } else {
    if ('notice' in answer && answer.notice !== undefined) process.stdout.write(`${answer.notice}\n`);
    process.stdout.write(`${answer.text}\n`);
  }
  return answer.kind === 'failed' ? EXIT.failure : EXIT.ok;
}

export async function interactive(chat: ConsoleChat, agentName: string): Promise<number> {
  const readline = await import('node:readline');
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  process.stdout.write(`Chatting with ${agentName} in session "${chat.sessionId}". /help for commands, /exit or Ctrl-D to leave.\n`);
  const ask = () => rl.prompt();
  rl.setPrompt('you › ');
  ask();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '') {
      ask();
      continue;
    }
    if (text === '/exit' || text === '/quit') break;
    let printed = 0;
    process.stdout.write('bot › ');
    const answer: ConsoleAnswer = await chat.send(text, (soFar) => {
      process.stdout.write(soFar.slice(printed));
      printed = soFar.length;
    });
    // The host's /help lists what every platform understands; leaving is the terminal's own
    // (one write with the list, so a reader never sees the list without it).
    const exitHelp = answer.kind === 'command' && /^\/help(\s|$)/i.test(text) ? `${CONSOLE_EXIT_HELP}\n` : '';
    process.stdout.write(`${answer.text.slice(printed)}\n${exitHelp}`);
    if ('notice' in answer && answer.notice !== undefined) process.stdout.write(`(${answer.notice})\n`);
    ask();
  }
  rl.close();
  return EXIT.ok;
}
