/**
 * The embedded-mode intake: every turn this process accepted, on disk (fdatasync'd) before
 * `enqueue` resolves, so "accepted" (the platform's 200, a confirmed polling offset, a gateway
 * `accepted` frame) survives `kill -9` (invariant I1). Distributed mode keeps the same promise
 * with its Redis inbox; this is its counterpart for the inline queue and the file store.
 *
 * Why files of its own, and not a record in the session's log: the turn's commit must stay one
 * atomic, idempotent append to the session file, and recovery must not scan every session at
 * start-up. A small per-process file is one sequential append per batch (group commit), and
 * recovery reads only the files of processes that died.
 *
 * Layout: `<dir>/<bot tag>.<pid>.<random>.jsonl` — a chain of files per (process, bot); the tag
 * is a hash of the bot id, so any id makes a safe file name. One JSON line per record, each
 * written by one write(2), so a crash leaves at most a torn last line (ignored: it was never
 * acknowledged):
 *   {"t":"a","id":"<bot>:<message>","r":<TurnRequest>}  accepted — fdatasync'd before the ack
 *   {"t":"d","id":"<bot>:<message>"}                    answered — not synced: losing one (an OS
 *                                                        crash) re-runs a turn the commit dedupes
 * A "done" record goes to the file holding its "accepted" record, so each file is complete on
 * its own. A file past `rotateBytes` takes no new turns; once none of its turns is pending it
 * is deleted, so the intake does not grow.
 *
 * Ownership: a file's path is a `ProcessLock` name, held by its writer from before the file
 * exists until it is deleted. On Linux the kernel frees it the instant the writer dies, so
 * "the lock can be taken" means "the writer is dead" and `adoptOrphans` may take its turns over.
 * An adopter copies the unanswered turns into its own file (durably) before deleting the
 * orphan; dying in between leaves both, and the next adopter's dedupe by inbound id (and the
 * commit's) keeps the re-run single.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { LockTimeoutError, StoreError } from '../core/errors.js';
import type { TurnRequest } from '../core/turn-queue.js';
import { appendDurably, syncDir } from '../sessions/atomic-file.js';
import type { ProcessLock } from '../sessions/process-lock.js';

export const INTAKE_DEFAULTS = Object.freeze({
  /** A file this large takes no new turns (it is deleted once they are all answered). */
  rotateBytes: 1 << 20,
  /** How long an adopter tries a file's lock: a live owner answers at once. */
  probeLockMs: 0,
} as const);

export interface FileIntakeOptions {
  /** Directory of the intake files; created on the first accepted turn. */
  dir: string;
  lock: ProcessLock;
  /** fdatasync accepted records (default true). Off only for benchmarks of the difference. */
  durable?: boolean;
  rotateBytes?: number;
}

/** The inbound id a turn is committed under: its idempotency key here too. */
export const intakeIdOf = (request: TurnRequest) => `${request.inbound.botId}:${request.inbound.messageId}`;

const EXT = '.jsonl';
const botTag = (botId: string) => createHash('sha256').update(botId).digest('hex').slice(0, 16);

interface Write {
  buf: Buffer;
  sync: boolean;
  settle: (error?: Error) => void;
}

/** One file of this process: its own append queue (group commit) and its pending turns. */
interface IntakeFile {
  readonly botId: string;
  readonly path: string;
  readonly fh: FileHandle;
  readonly release: () => Promise<void>;
  size: number;
  pending: number;
  sealed: boolean;
  waiting: Write[];
  flushing: boolean;
}

export class FileIntake {
  private readonly durable: boolean;
  private readonly rotateBytes: number;
  /** The file each bot's new turns go to, and that file once it is open. */
  private readonly current = new Map<string, Promise<IntakeFile>>();
  private readonly opened = new Map<string, IntakeFile>();
  /** Pending turns: where their "accepted" record is, and when it became durable. */
  private readonly pending = new Map<string, { file: Promise<IntakeFile>; durable: Promise<void> }>();
  /** This process's files, by path. */
  private readonly own = new Map<string, IntakeFile>();
  /** "done" records being written. */
  private readonly recording = new Set<Promise<void>>();

  constructor(private readonly options: FileIntakeOptions) {
    this.durable = options.durable ?? true;
    this.rotateBytes = options.rotateBytes ?? INTAKE_DEFAULTS.rotateBytes;
  }

  /** Turns accepted and not yet answered. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Records `request` as accepted. `durable` resolves once it is on disk (rejects with a
   * StoreError if it cannot be written: do not acknowledge then). `fresh` is false when the
   * same inbound id is already pending: it is queued once, and its durability is awaited.
   */
  accept(request: TurnRequest): { fresh: boolean; durable: Promise<void> } {
    const id = intakeIdOf(request);
    const known = this.pending.get(id);
    if (known) return { fresh: false, durable: known.durable };
    const file = this.fileFor(request.inbound.botId);
    const durable = file.then((f) => {
      f.pending++;
      return this.write(f, { t: 'a', id, r: request }, true);
    });
    this.pending.set(id, { file, durable });
    durable.catch(() => this.pending.delete(id));
    return { fresh: true, durable };
  }

  /** The turn was answered (or failed for good): it will not be run again. */
  done(request: TurnRequest): void {
    const id = intakeIdOf(request);
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    const recorded = entry.durable
      .then(() => entry.file)
      .then(async (f) => {
        await this.write(f, { t: 'd', id }, false).catch(() => undefined);
        f.pending--;
        await this.retireIfIdle(f);
      })
      .catch(() => undefined)
      .finally(() => this.recording.delete(recorded));
    this.recording.add(recorded);
  }

  /**
   * Takes over the unanswered turns of `botId` from files whose writer died, in their accepted
   * order: `take` must make them this process's own (accept + enqueue) before it resolves; the
   * orphan file is deleted after that. Returns how many turns were handed over.
   */
  async adoptOrphans(botId: string, take: (requests: TurnRequest[]) => Promise<void>): Promise<number> {
    const prefix = `${botTag(botId)}.`;
    let names: string[];
    try {
      names = (await fsp.readdir(this.options.dir)).filter((n) => n.startsWith(prefix) && n.endsWith(EXT)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new StoreError(`could not list the intake directory ${this.options.dir}: ${(err as Error).message}`, { cause: err });
    }
    let handed = 0;
    for (const name of names) {
      const file = path.join(this.options.dir, name);
      if (this.own.has(file)) continue;
      let release: () => Promise<void>;
      try {
        release = await this.options.lock.acquire(file, INTAKE_DEFAULTS.probeLockMs);
      } catch (err) {
        if (err instanceof LockTimeoutError) continue; // its writer is alive
        throw err;
      }
      try {
        const text = await fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined; // adopted by someone else meanwhile
          throw err;
        });
        if (text === undefined) continue;
        const unanswered = unansweredIn(text);
        if (unanswered.length > 0) await take(unanswered);
        handed += unanswered.length;
        await fsp.unlink(file);
        await syncDir(this.options.dir, this.durable);
      } finally {
        await release();
      }
    }
    return handed;
  }

  /**
   * Deletes this process's files whose turns were all answered and lets go of the rest: their
   * turns are run again by the next process that serves the bot.
   */
  async close(): Promise<void> {
    await Promise.all([...this.current.values()].map((file) => file.catch(() => undefined)));
    while (this.recording.size > 0) await Promise.all([...this.recording]);
    this.current.clear();
    this.opened.clear();
    for (const f of [...this.own.values()]) {
      while (f.flushing) await new Promise((r) => setImmediate(r));
      f.sealed = true;
      if (f.pending === 0) await this.retireIfIdle(f);
      else {
        this.own.delete(f.path);
        await f.fh.close().catch(() => undefined);
        await f.release();
      }
    }
    // Leave no empty directory behind (it fails, as it should, while any file is in it).
    await fsp.rmdir(this.options.dir).catch(() => undefined);
  }

  private fileFor(botId: string): Promise<IntakeFile> {
    let file = this.current.get(botId);
    if (!file) {
      const opening = this.open(botId);
      this.current.set(botId, opening);
      opening.then(
        (f) => this.current.get(botId) === opening && this.opened.set(botId, f),
        () => this.current.get(botId) === opening && this.current.delete(botId),
      );
      file = opening;
    }
    return file;
  }

  private async open(botId: string): Promise<IntakeFile> {
    const file = path.join(this.options.dir, `${botTag(botId)}.${process.pid}.${randomBytes(6).toString('hex')}${EXT}`);
    // Locked before it exists: an adopter never mistakes a file being born for an orphan.
    const release = await this.options.lock.acquire(file, INTAKE_DEFAULTS.probeLockMs);
    let fh: FileHandle | undefined;
    try {
      // Another process's close() removes the directory when it is empty, possibly between our
      // mkdir and open — or inside a recursive mkdir, which then fails with ENOENT: create it again.
      for (let attempt = 0; !fh; attempt++) {
        try {
          await fsp.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
          fh = await fsp.open(file, 'wx', 0o600);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) throw err;
        }
      }
      await syncDir(this.options.dir, this.durable);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await release();
      throw new StoreError(`could not create the intake file ${file}: ${(err as Error).message}`, { cause: err });
    }
    const f: IntakeFile = { botId, path: file, fh, release, size: 0, pending: 0, sealed: false, waiting: [], flushing: false };
    this.own.set(file, f);
    return f;
  }

  private write(f: IntakeFile, record: object, sync: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      f.waiting.push({ buf: Buffer.from(`${JSON.stringify(record)}\n`), sync, settle: (e) => (e ? reject(e) : resolve()) });
      if (!f.flushing) void this.flush(f);
    });
  }

  /** Group commit: everything queued while the previous batch synced goes in one write + one fdatasync. */
  private async flush(f: IntakeFile): Promise<void> {
    f.flushing = true;
    try {
      while (f.waiting.length > 0) {
        const batch = f.waiting.splice(0);
        const buf = Buffer.concat(batch.map((w) => w.buf));
        try {
          await appendDurably(f.fh, buf, f.size, this.durable && batch.some((w) => w.sync));
          f.size += buf.length;
          batch.forEach((w) => w.settle());
        } catch (err) {
          const error = new StoreError(`could not write the intake file ${f.path}: ${(err as Error).message}`, { cause: err });
          batch.forEach((w) => w.settle(error));
        }
        if (!f.sealed && f.size >= this.rotateBytes) this.seal(f);
      }
    } finally {
      f.flushing = false;
    }
    await this.retireIfIdle(f);
  }

  /** No new turns go to `f` from now on (synchronously: an accept right after gets a new file). */
  private seal(f: IntakeFile): void {
    f.sealed = true;
    if (this.opened.get(f.botId) === f) {
      this.opened.delete(f.botId);
      this.current.delete(f.botId);
    }
  }

  /** A sealed file with nothing pending or being written is deleted, then its lock released. */
  private async retireIfIdle(f: IntakeFile): Promise<void> {
    if (!f.sealed || f.pending > 0 || f.flushing || f.waiting.length > 0 || !this.own.has(f.path)) return;
    this.own.delete(f.path);
    await f.fh.close().catch(() => undefined);
    await fsp.unlink(f.path).catch(() => undefined);
    await f.release();
  }
}

/** The accepted-but-unanswered turns of one intake file, in accepted order (a torn last line is skipped). */
export function unansweredIn(text: string): TurnRequest[] {
  const accepted = new Map<string, TurnRequest>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let record: { t?: unknown; id?: unknown; r?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (typeof record.id !== 'string') continue;
    if (record.t === 'a' && typeof record.r === 'object' && record.r !== null) accepted.set(record.id, record.r as TurnRequest);
    else if (record.t === 'd') accepted.delete(record.id);
  }
  return [...accepted.values()];
}
