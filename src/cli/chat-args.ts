/**
 * `bot chat`'s argument list read without commander, so the command people run most starts
 * without loading it (commander and the program's help cost about half of a bare `node -e 0`).
 *
 * Only plain, unambiguous forms are read here: `[-c FILE] chat` followed by chat's own options as
 * `--name value`, `--name=value`, `-x value` or a bare flag. Anything else (help, a mistake, an
 * unusual spelling such as `-mhi`, a value that looks like an option) returns undefined and the
 * caller hands the arguments to the full program, which parses or rejects them as it always
 * has. test/cli/chat-args.test.ts checks that whatever is read here is what commander reads.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { GlobalOptions } from './context.js';

export interface ChatOptions {
  session?: string;
  message?: string;
  agent?: string;
  json?: boolean;
  timeout?: number;
}

export interface ChatInvocation {
  options: ChatOptions;
  globals: GlobalOptions;
}

/** `--timeout`'s default, in seconds. */
export const DEFAULT_CHAT_TIMEOUT_S = 300;

/** A number of seconds above 0, or undefined. */
export function positiveSeconds(value: string): number | undefined {
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Chat's options and the program's `--config`, by their long names (the keys of ChatOptions). */
const OPTIONS = {
  config: { type: 'string', short: 'c' },
  session: { type: 'string', short: 's' },
  message: { type: 'string', short: 'm' },
  agent: { type: 'string', short: 'a' },
  json: { type: 'boolean' },
  timeout: { type: 'string', short: 't' },
} satisfies ParseArgsConfig['options'];

/** The long names of chat's own options: what `chat` must register with commander too. */
export const CHAT_OPTION_NAMES = Object.keys(OPTIONS).filter((name) => name !== 'config');

/** The chat invocation `args` (the arguments after `bot`) plainly spells, or undefined. */
export function plainChatInvocation(args: readonly string[]): ChatInvocation | undefined {
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true, tokens: true }));
  } catch {
    return undefined;
  }
  const options: ChatOptions = { timeout: DEFAULT_CHAT_TIMEOUT_S };
  const globals: GlobalOptions = {};
  let sawChat = false;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (sawChat || token.value !== 'chat') return undefined;
      sawChat = true;
    } else if (token.kind === 'option-terminator') {
      return undefined;
    } else {
      // `-mhi` / `-m=hi`: commander reads these its own way; leave them to it.
      if (token.inlineValue === true && !token.rawName.startsWith('--')) return undefined;
      if (token.name === 'config') globals.config = token.value!;
      else if (!sawChat) return undefined; // chat's options before `chat` are a usage error
      else if (token.name === 'json') options.json = true;
      else if (token.name === 'timeout') {
        const seconds = positiveSeconds(token.value!);
        if (seconds === undefined) return undefined;
        options.timeout = seconds;
      } else options[token.name as 'session' | 'message' | 'agent'] = token.value!;
    }
  }
  return sawChat ? { options, globals } : undefined;
}
