/**
 * Every top-level `bot` command: its line in `bot --help`, and the module that registers it.
 * A command's module (and what it imports) is loaded only when that command runs or its own
 * help is asked for; `bot --help` prints these lines without loading any of them.
 * test/cli/command-table.test.ts checks that these lines are exactly what the modules register.
 */
import type { Command } from 'commander';
import { PLATFORMS } from '../host/catalog.js';

export interface CommandLine {
  name: string;
  /** The command's term in the program's help, as commander writes it: `chat [options]`. */
  term: string;
  description: string;
}

export interface CommandModule {
  /** The commands the module registers, in the order it registers them. */
  commands: CommandLine[];
  load(): Promise<(program: Command) => void>;
}

const platformLines: CommandLine[] = Object.entries(PLATFORMS).map(([platform, { title }]) => ({
  name: platform,
  term: `${platform} [options] [action] [args...]`,
  description: `run a ${title} bot (credentials from the environment or bots.yaml); \`bot ${platform} --help\` for its actions`,
}));

/** In the order `bot --help` lists them. */
export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    commands: [{ name: 'start', term: 'start', description: 'run every bot and service configured in bots.yaml, in this process' }],
    load: async () => (await import('./start-command.js')).registerStart,
  },
  {
    commands: [{ name: 'chat', term: 'chat [options]', description: 'chat with an agent in the terminal; the session is remembered across runs' }],
    load: async () => (await import('./chat-command.js')).registerChat,
  },
  {
    commands: [{ name: 'session', term: 'session', description: 'inspect and manage stored sessions: list, show, resume, fork, snapshot, revert, export, import' }],
    load: async () => (await import('./session-command.js')).registerSession,
  },
  {
    commands: [{ name: 'config', term: 'config', description: 'validate bots.yaml or print its JSON Schema' }],
    load: async () => (await import('./config-command.js')).registerConfig,
  },
  {
    commands: [
      { name: 'worker', term: 'worker [options]', description: 'run agent turns from the Redis queue (start as many as you like, on any machine)' },
      { name: 'queue', term: 'queue', description: 'inspect the distributed turn queue and its dead letters' },
    ],
    load: async () => (await import('./worker-command.js')).registerWorker,
  },
  {
    commands: platformLines,
    load: async () => (await import('./platform-command.js')).registerPlatforms,
  },
  {
    commands: [{ name: 'gateway', term: 'gateway [options]', description: 'run the WebSocket gateway and the web chat (default http://127.0.0.1:8765/)' }],
    load: async () => (await import('./gateway-command.js')).registerGateway,
  },
  {
    commands: [{ name: 'doctor', term: 'doctor [options]', description: 'check this deployment (store, Redis, model, bot tokens, exposure) and say what to fix' }],
    load: async () => (await import('./doctor-command.js')).registerDoctor,
  },
];

/**
 * The top-level command an argument list names (`bot -c f.yaml chat …` → `chat`;
 * `bot help chat` → `chat`), or undefined for none (`bot`, `bot --help`, `bot -V`).
 * Only `-c` / `--config` of the program's own options takes a value.
 */
export function commandNamed(args: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < args.length && operands.length < 2; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      operands.push(...args.slice(i + 1, i + 3));
      break;
    }
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-') || arg === '-') operands.push(arg);
  }
  return operands[0] === 'help' ? operands[1] : operands[0];
}
