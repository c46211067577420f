/** Spawned `bot …` processes for the benchmarks: start, wait for a condition, stop; a free port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface Proc {
  child: ChildProcess;
  /** The last 20 000 characters of its stderr. */
  stderr: () => string;
}

/** `bot <args>` with HOME=`home`, warnings only, plus `env`. */
export function spawnCli(home: string, args: string[], env: Record<string, string>): Proc {
  let err = '';
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: home,
    env: { ...process.env, HOME: home, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
  return { child, stderr: () => err };
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}\n${proc?.stderr().slice(-3000) ?? ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Signals the process and waits for it to exit (SIGKILL after 15 s). */
export function stop(proc: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (proc.child.exitCode !== null) return resolve();
    const t = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
    proc.child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.child.kill(signal);
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
