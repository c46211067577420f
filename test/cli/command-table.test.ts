/**
 * The command table (src/cli/command-table.ts) stands in for every command that is not run: its
 * lines must be exactly what the command modules register, whichever command is loaded.
 */
import { readFileSync } from 'node:fs';
import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, commandNamed } from '../../src/cli/command-table.js';
import { buildProgram, CommandNotLoaded } from '../../src/cli/program.js';

const names = COMMAND_MODULES.flatMap((m) => m.commands.map((c) => c.name));

describe('the command table', () => {
  it('holds, per module, the names, help terms and descriptions the module registers, in its order', async () => {
    const help = new Help();
    for (const module of COMMAND_MODULES) {
      const program = new Command('bot');
      (await module.load())(program);
      expect(program.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: c.description() }))).toEqual(module.commands);
    }
  });

  it('`bot --help` reads the same with no command loaded, any one loaded, or all loaded', async () => {
    const full = await buildProgram('all');
    expect(full.commands.map((c) => c.name())).toEqual(names);
    const lazy = await buildProgram(undefined);
    expect(lazy.helpInformation()).toBe(full.helpInformation());
    for (const name of names) expect((await buildProgram(name)).helpInformation(), name).toBe(full.helpInformation());
  });

  it('prints the package version (read by package name, from src/ and dist/ alike)', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await buildProgram(undefined)).version()).toBe(pkg.version);
  });

  it('registers the named command from its module, and only that one', async () => {
    const program = await buildProgram('chat');
    const real = (name: string) => program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
    expect(real('chat')).toContain('--message');
    expect(real('gateway')).toEqual([]); // a placeholder: no options of its own
  });

  it('a command known only by its line, when run, asks for the program with every command', async () => {
    const program = await buildProgram(undefined);
    await expect(program.parseAsync(['chat', '--message', 'hi'], { from: 'user' })).rejects.toBeInstanceOf(CommandNotLoaded);
  });
});

describe('commandNamed: which command an argument list runs', () => {
  it.each([
    [[], undefined],
    [['--help'], undefined],
    [['-V'], undefined],
    [['help'], undefined],
    [['chat', '--message', 'hi'], 'chat'],
    [['help', 'chat'], 'chat'],
    [['-c', 'session', 'chat'], 'chat'],
    [['--config', 'x.yaml', 'session', 'list'], 'session'],
    [['--config=x.yaml', 'worker'], 'worker'],
    [['-cx.yaml', 'doctor'], 'doctor'],
    [['--', 'start'], 'start'],
    [['chat', 'help'], 'chat'],
    [['frobnicate'], 'frobnicate'],
  ])('%j → %s', (args, expected) => {
    expect(commandNamed(args)).toBe(expected);
  });
});
