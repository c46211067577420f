/**
 * The `bot` program: its own options and help, and its commands — the named one registered by
 * its module, every other one by its line from the command table only, so starting `bot chat`
 * or printing `bot --help` does not load what the other commands need.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Help } from 'commander';
import { COMMAND_MODULES, commandNamed, type CommandLine } from './command-table.js';
import { EXIT } from './exit-codes.js';

/**
 * Thrown when a command known only by its table line is run: the argument list named it in a way
 * `commandNamed` did not see. The caller builds the program again with every command loaded.
 */
export class CommandNotLoaded extends Error {
  constructor(readonly command: string) {
    super(`bot: command "${command}" was not loaded; build the program with every command`);
  }
}

/** Parse `argv` (as process.argv) with the full program and run the command it names. */
export async function runProgram(argv: string[]): Promise<void> {
  try {
    try {
      await (await buildProgram(commandNamed(argv.slice(2)))).parseAsync(argv);
    } catch (err) {
      // The argument list named its command in a way commandNamed did not see: load every command.
      if (!(err instanceof CommandNotLoaded)) throw err;
      await (await buildProgram('all')).parseAsync(argv);
    }
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and version exit 0; usage errors (unknown command/option) exit 2.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
}

/** `load`: the top-level command to register from its module, or 'all' for every one. */
export async function buildProgram(load: string | undefined | 'all'): Promise<Command> {
  const placeholders = new Map<Command, string>();
  const program = new Command('bot')
    .description('bothost — run chat bots with persistent sessions')
    .option('-c, --config <file>', 'bots.yaml to use (default: $BOTHOST_CONFIG, then ./bots.yaml, then built-in defaults)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .configureHelp({
      subcommandTerm(this: Help, cmd: Command): string {
        return placeholders.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    })
    .exitOverride();

  for (const module of COMMAND_MODULES) {
    if (load === 'all' || module.commands.some((c) => c.name === load)) (await module.load())(program);
    else {
      for (const line of module.commands) {
        const cmd = placeholder(line);
        placeholders.set(cmd, line.term);
        program.addCommand(cmd);
      }
    }
  }
  program.addHelpText(
    'after',
    '\nQuick start:\n  bot chat --session demo --message "My name is Alice"\n  bot chat --session demo --message "What\'s my name?"\n  bot session show demo',
  );
  return program;
}

/** A command listed with its table line; running it asks for the real one (see CommandNotLoaded). */
function placeholder(line: CommandLine): Command {
  return new Command(line.name)
    .description(line.description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new CommandNotLoaded(line.name);
    });
}

/** The package's own package.json, by its name: the same from src/ (tests) and dist/. */
function packageVersion(): string {
  return (createRequire(import.meta.url)('bothost/package.json') as { version: string }).version;
}
