/**
 * `bot chat`'s fast path (src/cli/chat-args.ts) reads plain argument lists without commander.
 * Whatever it reads must be exactly what the full program reads; whatever it cannot read it must
 * leave to the program (undefined), never guess.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CHAT_OPTION_NAMES, plainChatInvocation, type ChatInvocation } from '../../src/cli/chat-args.js';
import { buildProgram } from '../../src/cli/program.js';

/** What commander hands chat's action for `args`, or the usage error it stops with. */
async function commanderReads(args: string[]): Promise<ChatInvocation | 'usage error'> {
  const program = await buildProgram('chat');
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const chat = program.commands.find((c) => c.name() === 'chat')!;
  chat.exitOverride();
  let seen: ChatInvocation | undefined;
  chat.action((options: ChatInvocation['options'], cmd: Command) => {
    const { config } = cmd.optsWithGlobals<{ config?: string }>();
    seen = { options: { ...options }, globals: config === undefined ? {} : { config } };
  });
  try {
    await program.parseAsync(['node', 'bot', ...args]);
  } catch {
    return 'usage error';
  }
  return seen!;
}

const READ_ALIKE: string[][] = [
  ['chat'],
  ['chat', '--message', 'hi'],
  ['chat', '-m', 'hi', '-s', 'demo'],
  ['chat', '--message=hi there', '--session=demo', '--json'],
  ['chat', '-a', 'helper', '-t', '2.5', '-m', 'x'],
  ['chat', '--timeout', '10', '--message', 'two', '--message', 'last one wins'],
  ['-c', 'other.yaml', 'chat', '-m', 'hi'],
  ['--config', 'other.yaml', 'chat', '--message', 'hi'],
  ['chat', '-m', 'hi', '--config', 'after.yaml'],
  ['--config=x.yaml', 'chat'],
  ['chat', '--message', ''],
  ['chat', '--message', 'über ✓ "quoted"'],
];

/** Forms the fast path must leave to commander (help, mistakes, unusual spellings). */
const LEFT_TO_THE_PROGRAM: string[][] = [
  [],
  ['--help'],
  ['chat', '--help'],
  ['chat', '-h'],
  ['-V'],
  ['help', 'chat'],
  ['session', 'list'],
  ['chat', 'extra'],
  ['chat', '-m', 'hi', 'extra'],
  ['chat', '--unknown'],
  ['chat', '--timeout', '0', '-m', 'hi'],
  ['chat', '--timeout', 'soon', '-m', 'hi'],
  ['chat', '--timeout=', '-m', 'hi'],
  ['chat', '-mhi'],
  ['chat', '-m=hi'],
  ['chat', '-m', '-x'],
  ['chat', '--json=yes'],
  ['chat', '--', '-m'],
  ['-m', 'hi', 'chat'],
  ['chat', '-m'],
];

describe('bot chat read without commander', () => {
  it('chat registers exactly the options the fast path knows', async () => {
    const program = await buildProgram('chat');
    const chat = program.commands.find((c) => c.name() === 'chat')!;
    expect(chat.options.map((o) => o.attributeName()).sort()).toEqual([...CHAT_OPTION_NAMES].sort());
  });

  it.each(READ_ALIKE.map((args) => [args.join(' '), args]))('reads `%s` as commander does', async (_, args) => {
    const fast = plainChatInvocation(args as string[]);
    expect(fast).toBeDefined();
    expect(fast).toEqual(await commanderReads(args as string[]));
  });

  it.each(LEFT_TO_THE_PROGRAM.map((args) => [args.join(' ') || '(nothing)', args]))('leaves `%s` to the program', (_, args) => {
    expect(plainChatInvocation(args as string[])).toBeUndefined();
  });

  it('what it leaves, commander either rejects or reads (so nothing falls through the cracks)', async () => {
    // -mhi / -m=hi / -m -x are valid for commander: it reads them, the fast path just does not.
    expect(await commanderReads(['chat', '-mhi'])).toMatchObject({ options: { message: 'hi' } });
    expect(await commanderReads(['chat', '-m', '-x'])).toMatchObject({ options: { message: '-x' } });
    expect(await commanderReads(['chat', '--timeout', '0', '-m', 'hi'])).toBe('usage error');
    expect(await commanderReads(['chat', 'extra'])).toBe('usage error');
  });
});
