/**
 * Lua scripts as files (BullMQ style): `<name>-<key count>.lua`, each with a header naming its
 * KEYS, ARGV and replies. Shared by every Redis user (session store, lease, queue, outbox); each
 * keeps its scripts in a `lua/` folder beside its own modules and names them by URL
 * (`luaScript(file, import.meta.url)`), read from `src/…` under vitest and `dist/src/…` after
 * `npm run build`, which copies `.lua` files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { StoreError } from '../core/errors.js';

export class LuaScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
  readonly sha: string;

  constructor(url: URL) {
    const file = url.pathname.split('/').pop() ?? '';
    const match = /^(.+)-(\d+)\.lua$/.exec(file);
    if (!match) throw new StoreError(`Lua script file ${file} must be named <name>-<number of keys>.lua`);
    this.name = match[1]!;
    this.numberOfKeys = Number(match[2]);
    try {
      this.lua = readFileSync(url, 'utf8');
    } catch (cause) {
      throw new StoreError(`cannot read Lua script ${url.pathname}: run "npm run build" (it copies .lua files to dist/)`, { cause });
    }
    this.sha = createHash('sha1').update(this.lua).digest('hex');
  }

  /**
   * EVALSHA, falling back to EVAL when the server has not cached the script (first use, restart,
   * SCRIPT FLUSH). Redis errors become StoreError; the caller interprets the reply.
   */
  async run(client: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) {
      throw new StoreError(`script ${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    try {
      try {
        return await client.evalsha(this.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return await client.eval(this.lua, keys.length, ...keys, ...args);
      }
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new StoreError(`Redis script ${this.name} failed: ${reason}; check that Redis is reachable and is version 6.2 or later`, { cause });
    }
  }
}

/** Load `./lua/<file>` relative to the calling module's URL. */
export function luaScript(file: string, base: string | URL): LuaScript {
  return new LuaScript(new URL(`./lua/${file}`, base));
}
