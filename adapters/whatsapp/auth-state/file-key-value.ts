/**
 * The file backend: one JSON file per key in baileys' multi-file layout (`creds.json`,
 * `pre-key-1.json`, `session-4915…_1.0.json`), so a
 * folder made by baileys' `useMultiFileAuthState` works as is. Unlike baileys' helper, every
 * write is crash-safe: temp file in the same directory → fsync → rename → fsync the directory,
 * so a kill -9 leaves each file at its old or its new content, never empty or half-written.
 *
 * `set` is atomic per item, not as a whole (a crash mid-`set` may leave some of its items new and
 * some old — each one whole); Redis and Postgres stores make the whole `set` atomic.
 *
 * Writes are serialized per instance (one socket writes one folder: the leadership lease keeps
 * other processes out), so a later `apply` always wins over an earlier one for the same key.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from '../../../src/core/errors.js';
import type { AtomicKeyValue } from '../../../src/core/key-value.js';

const TEMP_PREFIX = '.tmp-';
/** Temp files older than this at open were left by a crash; younger ones may be another writer's. */
const STALE_TEMP_MS = 60_000;

/** The file a key lives in (keys are already file-safe: see `storageKey`). */
export function fileNameOf(key: string): string {
  return `${key}.json`;
}

export class FileKeyValue implements AtomicKeyValue {
  readonly describe: string;
  private queue: Promise<unknown> = Promise.resolve();
  private ready: Promise<void> | undefined;

  constructor(readonly dir: string) {
    this.describe = `file ${dir}`;
  }

  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      const info = await stat(this.dir).catch(() => undefined);
      if (info && !info.isDirectory()) throw new StoreError(`${this.dir} is not a directory: auth_dir must name a folder (move the file away or choose another auth_dir)`);
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const now = Date.now();
      for (const name of await readdir(this.dir)) {
        if (!name.startsWith(TEMP_PREFIX)) continue;
        const file = path.join(this.dir, name);
        const age = now - ((await stat(file).catch(() => undefined))?.mtimeMs ?? now);
        if (age > STALE_TEMP_MS) await unlink(file).catch(() => undefined);
      }
    })();
    return this.ready;
  }

  async get(keys: readonly string[]): Promise<(string | null)[]> {
    await this.prepare();
    return Promise.all(
      keys.map(async (key) => {
        try {
          return await readFile(path.join(this.dir, fileNameOf(key)), 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw new StoreError(`cannot read ${fileNameOf(key)} in ${this.dir}: ${(err as Error).message}`, { cause: err });
        }
      }),
    );
  }

  set(entries: Readonly<Record<string, string | null>>): Promise<void> {
    const run = this.queue.then(() => this.write(Object.entries(entries)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(changes: ReadonlyArray<readonly [string, string | null]>): Promise<void> {
    await this.prepare();
    try {
      await Promise.all(changes.map(([key, value]) => (value === null ? this.remove(key) : this.writeAtomic(key, value))));
      await this.syncDir();
    } catch (err) {
      throw new StoreError(`cannot write the WhatsApp auth state in ${this.dir}: ${(err as Error).message} (is the disk full or the folder read-only?)`, { cause: err });
    }
  }

  private async writeAtomic(key: string, value: string): Promise<void> {
    const target = path.join(this.dir, fileNameOf(key));
    const temp = path.join(this.dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${fileNameOf(key)}`);
    const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await fh.writeFile(value, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(temp, target);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  private async remove(key: string): Promise<void> {
    await unlink(path.join(this.dir, fileNameOf(key))).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  private async syncDir(): Promise<void> {
    const fh = await open(this.dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async keys(prefix = ''): Promise<string[]> {
    await this.prepare();
    return (await readdir(this.dir))
      .filter((n) => n.endsWith('.json') && !n.startsWith(TEMP_PREFIX))
      .map((n) => n.slice(0, -'.json'.length))
      .filter((k) => k.startsWith(prefix));
  }

  async clear(): Promise<void> {
    await this.queue;
    await rm(this.dir, { recursive: true, force: true });
    this.ready = undefined;
  }
}
