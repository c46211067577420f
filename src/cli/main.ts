#!/usr/bin/env node
/** The `bot` command. */
import { CommanderError } from 'commander';
import { commandNamed } from './command-table.js';
import { EXIT } from './exit-codes.js';
import { buildProgram, CommandNotLoaded } from './program.js';
import { collectSecrets } from '../host/secrets.js';
import { processSecrets, redactWrites } from '../host/process-secrets.js';

// Everything this process prints goes through the secret redactor (filled in as config loads).
processSecrets.add(collectSecrets(undefined, process.env));
redactWrites(process.stdout);
redactWrites(process.stderr);

try {
  try {
    await (await buildProgram(commandNamed(process.argv.slice(2)))).parseAsync(process.argv);
  } catch (err) {
    // The argument list named its command in a way commandNamed did not see: load every command.
    if (!(err instanceof CommandNotLoaded)) throw err;
    await (await buildProgram('all')).parseAsync(process.argv);
  }
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors (unknown command/option) exit 2.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    throw err;
  }
}
