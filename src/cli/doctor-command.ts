/**
 * `bot doctor [--json]`: checks a deployment and says what to fix — Node, bots.yaml, the store,
 * Redis (eviction policy, persistence), each model endpoint and key, each bot's credentials
 * where cheap, and listeners exposed without auth. Exit 1 when any check fails (✗), else 0;
 * warnings (⚠) do not fail. Secrets are never printed.
 */
import type { Command } from 'commander';
import { action, EXIT, type GlobalOptions } from './context.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check this deployment (store, Redis, model, bot tokens, exposure) and say what to fix')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const { runDoctor } = await import('./doctor/run-doctor.js');
        const { formatJson, formatTable } = await import('../ops/doctor-report.js');
        const results = await runDoctor(cmd.optsWithGlobals<GlobalOptions>().config, process.env);
        process.stdout.write(opts.json ? formatJson(results) : formatTable(results));
        return results.some((r) => r.status === 'fail') ? EXIT.failure : EXIT.ok;
      }),
    );
}
