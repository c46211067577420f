/** `bot config check [file]` and `bot config schema`. */
import type { Command } from 'commander';
import { action, EXIT, type GlobalOptions } from './context.js';
import { processSecrets } from '../host/process-secrets.js';
import { collectSecrets } from '../host/secrets.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('validate bots.yaml or print its JSON Schema');

  config
    .command('check [file]')
    .description('validate a bots.yaml (default: --config, $BOTHOST_CONFIG or ./bots.yaml) and summarise it')
    .action(
      action(async (file: string | undefined, _opts: unknown, cmd: Command) => {
        const [{ loadConfig }, { checkBotEntry }, { isPlatform }] = await Promise.all([import('../config/load.js'), import('../host/adapters.js'), import('../host/catalog.js')]);
        const loaded = await loadConfig(file ?? cmd.optsWithGlobals<GlobalOptions>().config, process.env);
        processSecrets.add(collectSecrets(loaded.config, process.env));
        const c = loaded.config;
        // Each platform's own keys are checked by its definition's schema (loaded lazily).
        for (const [i, bot] of c.bots.entries()) {
          if (isPlatform(bot.platform)) await checkBotEntry(loaded, i, bot);
        }
        const lines = [
          `${loaded.file ?? '(built-in defaults: no bots.yaml found)'}: OK`,
          `  agents:  ${Object.entries(c.agents).map(([id, a]) => `${id} (model ${a.model})`).join(', ')}`,
          `  store:   ${c.store.backend}${c.store.backend === 'file' ? ` at ${c.store.path}` : ''}, keeps ${c.store.max_messages} messages per session`,
          `  queue:   ${c.queue.backend}, concurrency ${c.queue.concurrency}`,
          `  bots:    ${c.bots.length === 0 ? '(none)' : c.bots.map((b) => `${b.id} (${b.platform})`).join(', ')}`,
          `  gateway: ${c.gateway.enabled ? `${c.gateway.host}:${c.gateway.port}` : 'off'}`,
        ];
        for (const [p, v] of Object.entries(loaded.missingEnv)) lines.push(`  note: ${v} is not set (used at ${p})`);
        process.stdout.write(`${lines.join('\n')}\n`);
        return EXIT.ok;
      }),
    );

  config
    .command('schema')
    .description('print the JSON Schema of bots.yaml (for editor completion)')
    .action(
      action(async () => {
        const { configJsonSchema } = await import('../config/json-schema.js');
        process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      }),
    );
}
