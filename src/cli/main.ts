#!/usr/bin/env node
/** The `bot` command. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerChat } from './chat-command.js';
import { registerConfig } from './config-command.js';
import { registerDoctor } from './doctor-command.js';
import { EXIT } from './context.js';
import { registerGateway } from './gateway-command.js';
import { registerPlatforms } from './platform-command.js';
import { registerSession } from './session-command.js';
import { registerStart } from './start-command.js';
import { registerWorker } from './worker-command.js';
import { collectSecrets } from '../host/secrets.js';
import { processSecrets, redactWrites } from '../host/process-secrets.js';

// Everything this process prints goes through the secret redactor (filled in as config loads).
processSecrets.add(collectSecrets(undefined, process.env));
redactWrites(process.stdout);
redactWrites(process.stderr);

const program = new Command('bot')
  .description('bothost — run chat bots with persistent sessions')
  .option('-c, --config <file>', 'bots.yaml to use (default: $BOTHOST_CONFIG, then ./bots.yaml, then built-in defaults)')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .showSuggestionAfterError(true)
  .exitOverride();

registerStart(program);
registerChat(program);
registerSession(program);
registerConfig(program);
registerWorker(program);
registerPlatforms(program);
registerGateway(program);
registerDoctor(program);
program.addHelpText(
  'after',
  '\nQuick start:\n  bot chat --session demo --message "My name is Alice"\n  bot chat --session demo --message "What\'s my name?"\n  bot session show demo',
);

function packageVersion(): string {
  const file = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors (unknown command/option) exit 2.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    throw err;
  }
}
