#!/usr/bin/env node
/** The `bot` command. */
import { plainChatInvocation } from './chat-args.js';
import { collectSecrets } from '../host/secrets.js';
import { processSecrets, redactWrites } from '../host/process-secrets.js';

// Everything this process prints goes through the secret redactor (filled in as config loads).
processSecrets.add(collectSecrets(undefined, process.env));
redactWrites(process.stdout);
redactWrites(process.stderr);
// A reader that goes away (`bot session list | head`) ends the output, not the command with a
// stack trace: the rest of what it prints goes nowhere, and it exits with its own code.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

// `bot chat` spelled plainly starts without the full program (see chat-args.ts); everything
// else, help and usage errors included, goes through it.
const chat = plainChatInvocation(process.argv.slice(2));
if (chat) {
  const [{ runChat }, { action }] = await Promise.all([import('./chat-run.js'), import('./context.js')]);
  await action(runChat)(chat.options, chat.globals);
} else {
  await (await import('./program.js')).runProgram(process.argv);
}
