/**
 * What `bot` loads to start: `bot --help` only the program and its command table; a command only
 * its own modules. Checked on the built CLI with a module-loading hook (ES modules as they load,
 * CommonJS files from the require cache at exit), not by timing.
 */
import { describe, expect, it } from 'vitest';
import { runCli, useSandbox } from '../helpers/run-cli.js';

const cli = useSandbox();

const hook = `export async function load(url, context, next) { const r = await next(url, context); process.stderr.write('LOADED ' + url + '\\n'); return r; }`;
const preload = [
  `import { createRequire, register } from 'node:module';`,
  `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`,
  `const require = createRequire(process.execPath);`,
  `process.on('exit', () => { for (const f of Object.keys(require.cache)) process.stderr.write('LOADED file://' + f + '\\n'); });`,
].join('\n');
const NODE_OPTIONS = `--import data:text/javascript,${encodeURIComponent(preload)}`;

interface Loaded {
  /** bothost's own modules, relative to dist/src: `cli/main.js`. */
  own: Set<string>;
  /** Third-party packages by name: `commander`, `@slack/bolt`. */
  packages: Set<string>;
  /** Node built-ins imported as ES modules: `node:http`. */
  builtins: Set<string>;
}

async function loadedBy(args: string[]): Promise<Loaded & { stdout: string }> {
  const r = await runCli(cli.sb, args, { env: { NODE_OPTIONS } });
  expect(r.code, r.stderr).toBe(0);
  const urls = [...r.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!);
  const own = new Set(urls.flatMap((u) => /\/dist\/src\/(.+)$/.exec(u)?.[1] ?? []));
  const packages = new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  const builtins = new Set(urls.filter((u) => u.startsWith('node:')));
  return { own, packages, builtins, stdout: r.stdout };
}

const COMMAND_MODULES = /^cli\/(.+-command|session-.+|worker-.+|queue-control|dead-letters|doctor\/.+)\.js$/;
/** The model endpoint's HTTP client and its pool load only when a real model is first called. */
const MODEL_CLIENT_MODULES = ['models/chat-completions-stream.js', 'models/http-client.js'];
const HEAVY_PACKAGES = ['zod', 'yaml', 'pino', 'ioredis', 'bullmq', 'pg', 'ai', '@ai-sdk/openai-compatible', 'prom-client', 'ws', 'grammy', 'discord.js', '@slack/bolt', 'baileys'];

describe('start-up loads only what the command needs', () => {
  it('`bot --help`: the program, its command table and commander — no command, config, host or store', async () => {
    const { own, packages, stdout } = await loadedBy(['--help']);
    expect(stdout).toMatch(/^\s+session\b/m); // every command is still listed
    expect([...packages]).toEqual(['commander']);
    expect(own.has('cli/main.js')).toBe(true); // the probe sees our modules
    expect([...own].filter((m) => COMMAND_MODULES.test(m) || /^(config|sessions|queue|models|gateway|agent|ingress)\/|^host\/host\.js$/.test(m))).toEqual([]);
    // Today 10; a budget, so that a new import on this path is a decision, not an accident.
    expect(own.size).toBeLessThanOrEqual(14);
  });

  it('`bot chat --help`: chat\'s registration, and no other command\'s nor the host', async () => {
    const { own, packages, stdout } = await loadedBy(['chat', '--help']);
    expect(stdout).toContain('--message <text>');
    expect(own.has('cli/chat-command.js')).toBe(true);
    expect([...own].filter((m) => COMMAND_MODULES.test(m) && m !== 'cli/chat-command.js')).toEqual([]);
    expect(own.has('host/host.js')).toBe(false);
    expect([...packages]).toEqual(['commander']);
  });

  it('`bot chat --message` with the built-in defaults: no commander, no other command, no config parser, no heavy package, no model HTTP client', async () => {
    const { own, packages, builtins, stdout } = await loadedBy(['chat', '--message', 'hi']);
    expect(stdout).toMatch(/you said "hi"/);
    expect(own.has('host/host.js')).toBe(true);
    // Read by cli/chat-args.js: neither the program nor commander loads.
    expect(packages.has('commander')).toBe(false);
    expect(own.has('cli/program.js')).toBe(false);
    expect([...own].filter((m) => COMMAND_MODULES.test(m))).toEqual([]);
    expect([...own].filter((m) => /^config\/(load|schema|parse-section)\.js$|^queue\/(queue-inspection|outbox-consumer)\.js$|^sessions\/hierarchy\/(export-import|cut-point)\.js$/.test(m))).toEqual([]);
    expect(HEAVY_PACKAGES.filter((p) => packages.has(p))).toEqual([]);
    expect(own.has('models/openai-compatible-model.js')).toBe(true); // the probe sees the models layer
    expect(MODEL_CLIENT_MODULES.filter((m) => own.has(m))).toEqual([]);
    expect(builtins.has('node:fs'), 'the probe sees built-ins').toBe(true);
    expect(builtins.has('node:https')).toBe(false);
    // The console's turn needs no metrics, none of the hierarchy's writers and no endpoint check
    // (the echo model has none), and the terminal feeds no platform, so no inbound spool.
    const notOnThePath = /^host\/metrics\.js$|^sessions\/hierarchy\/(copy-on-write|removal)\.js$|^models\/endpoint-check\.js$|^host\/spool-wiring\.js$|^queue\/inbound-spool\.js$/;
    expect([...own].filter((m) => notOnThePath.test(m))).toEqual([]);
    // Today 66; a budget, so that a new import on this path is a decision, not an accident.
    expect(own.size).toBeLessThanOrEqual(67);
  });
});
