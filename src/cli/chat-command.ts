/** `bot chat`: talk to an agent in the terminal, interactively or one turn with `--message`. */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_CHAT_TIMEOUT_S, positiveSeconds, type ChatOptions } from './chat-args.js';
import { action, type GlobalOptions } from './context.js';

export function registerChat(program: Command): void {
  program
    .command('chat')
    .description('chat with an agent in the terminal; the session is remembered across runs')
    .option('-s, --session <id>', 'session id, used as is (default: your stable console session)')
    .option('-m, --message <text>', 'send one message, print the reply and exit')
    .option('-a, --agent <name>', 'agent from bots.yaml (default: the first one)')
    .option('--json', 'with --message: print {session, reply, cursor} as JSON')
    .option('-t, --timeout <seconds>', 'with --message: give up waiting for the reply after this long (the message stays queued)', secondsArgument, DEFAULT_CHAT_TIMEOUT_S)
    .addHelpText('after', '\nExamples:\n  bot chat --session demo --message "My name is Alice"\n  bot chat --session demo --message "What\'s my name?"\n  bot chat            # interactive; /help lists commands, Ctrl-D exits')
    .action(
      action(async (opts: ChatOptions, cmd: Command) => {
        const { runChat } = await import('./chat-run.js');
        return runChat(opts, cmd.optsWithGlobals<GlobalOptions>());
      }),
    );
}

function secondsArgument(value: string): number {
  const seconds = positiveSeconds(value);
  if (seconds === undefined) throw new InvalidArgumentError('a number of seconds above 0');
  return seconds;
}
