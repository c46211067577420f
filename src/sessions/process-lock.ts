/**
 * A mutex shared by the OS processes of one machine, used by the file store to serialize
 * writers of one session.
 *
 * On Linux it binds an abstract-namespace Unix socket: binding is atomic, only one process can
 * hold a name, and the kernel frees it the instant the holder dies (even by SIGKILL), so there
 * is no stale lock to detect and no break-the-stale-lock race (the weakness of lock files and
 * `proper-lockfile`). Elsewhere it falls back to an `O_EXCL` lock file whose holder pid is
 * checked for liveness; that fallback has the classic stale-break race, which is why the file
 * store's correctness rests on single-line atomic records as well as on this lock.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import { LockTimeoutError } from '../core/errors.js';

export interface ProcessLock {
  /** Resolves with a release function once the lock is held. */
  acquire(name: string, timeoutMs: number): Promise<() => Promise<void>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Backoff for contended locks: short first (holders usually keep it < 1 ms), then up to 8 ms. */
function backoffMs(attempt: number): number {
  const base = Math.min(8, 0.5 * 2 ** Math.min(attempt, 4));
  return base / 2 + Math.random() * base;
}

class AbstractSocketLock implements ProcessLock {
  async acquire(name: string, timeoutMs: number): Promise<() => Promise<void>> {
    // Abstract names are limited to 107 bytes: hash whatever the caller gave us.
    const path = `\0bothost-lock-${createHash('sha256').update(name).digest('hex')}`;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const server = net.createServer();
      const bound = await new Promise<boolean>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          err.code === 'EADDRINUSE' ? resolve(false) : reject(err),
        );
        server.listen({ path, exclusive: true }, () => resolve(true));
      });
      if (bound) {
        server.unref();
        let released = false;
        return async () => {
          if (released) return;
          released = true;
          await new Promise<void>((r) => server.close(() => r()));
        };
      }
      if (Date.now() > deadline) throw new LockTimeoutError(name, timeoutMs);
      await sleep(backoffMs(attempt));
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class LockFileLock implements ProcessLock {
  async acquire(name: string, timeoutMs: number): Promise<() => Promise<void>> {
    const file = `${name}.lock`;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.writeFile(file, String(process.pid), { flag: 'wx' });
        return async () => void (await fsp.rm(file, { force: true }));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number(await fsp.readFile(file, 'utf8').catch(() => ''));
      if (holder > 0 && !pidAlive(holder)) await fsp.rm(file, { force: true });
      if (Date.now() > deadline) throw new LockTimeoutError(name, timeoutMs);
      await sleep(backoffMs(attempt));
    }
  }
}

/** The best lock for this OS. `name` must be a path in the locked directory (the fallback writes `name.lock`). */
export function createProcessLock(): ProcessLock {
  return process.platform === 'linux' ? new AbstractSocketLock() : new LockFileLock();
}
