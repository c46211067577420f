/**
 * Spawning `store-child.mjs` (real OS processes running the compiled store) and reading what
 * they print. Every child is tracked so `killAll()` in afterEach leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CHILD_SCRIPT = path.join(HERE, 'store-child.mjs');
const ROOT = path.resolve(HERE, '..', '..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StoreChild {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: string[];
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Resolves with the first line (already printed or future) that matches. */
  waitFor(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  onLine(cb: (line: string) => void): void;
  send(line: string): void;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<StoreChild>();

export interface SpawnOptions {
  /** Run under `ulimit -f <blocks>` (RLIMIT_FSIZE): writes past it fail like a full disk. */
  fileSizeLimitBlocks?: number;
  /** Another child script with the same line protocol (default store-child.mjs). */
  script?: string;
}

export function spawnStoreChild(mode: string, args: object, options: SpawnOptions = {}): StoreChild {
  const nodeArgs = [options.script ?? CHILD_SCRIPT, mode, JSON.stringify(args)];
  const proc =
    options.fileSizeLimitBlocks === undefined
      ? spawn(process.execPath, nodeArgs, { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', 'ulimit -f "$0" && exec "$@"', String(options.fileSizeLimitBlocks), process.execPath, ...nodeArgs], {
          stdio: ['pipe', 'pipe', 'pipe'],
        });
  const lines: string[] = [];
  const listeners: Array<(line: string) => void> = [];
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  proc.stdin!.on('error', () => undefined); // the child may die before reading
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const l of listeners) l(line);
  });
  const exited = new Promise<Exit>((resolve) => {
    // 'close' fires after stdio is drained, so `lines` is complete when this resolves.
    proc.on('close', (code, signal) => resolve({ code, signal }));
  });
  const child: StoreChild = {
    proc,
    pid: proc.pid!,
    lines,
    stderr: () => err,
    exited,
    onLine: (cb) => void listeners.push(cb),
    send: (line) => void proc.stdin!.write(`${line}\n`),
    kill: (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
    waitFor: (match, timeoutMs = 15_000) =>
      new Promise<string>((resolve, reject) => {
        const found = lines.find(match);
        if (found !== undefined) return resolve(found);
        const timer = setTimeout(
          () => reject(new Error(`child ${mode} printed no matching line in ${timeoutMs} ms; stdout:\n${lines.join('\n')}\nstderr:\n${err}`)),
          timeoutMs,
        );
        listeners.push((line) => {
          if (match(line)) {
            clearTimeout(timer);
            resolve(line);
          }
        });
        void exited.then((e) => {
          clearTimeout(timer);
          reject(new Error(`child ${mode} exited (${e.code ?? e.signal}) before a matching line; stderr:\n${err}`));
        });
      }),
  };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** SIGKILL every child still running (afterEach). */
export async function killAllChildren(): Promise<void> {
  const children = [...live];
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
}

/**
 * The children run `dist/`; fail loudly (not skip) when it is missing or older than the sources
 * it was built from, since the test would otherwise exercise stale code.
 */
export function assertDistFresh(): void {
  for (const sub of ['sessions', 'core']) {
    const srcDir = path.join(ROOT, 'src', sub);
    for (const name of readdirSync(srcDir)) {
      if (!name.endsWith('.ts')) continue;
      const js = path.join(ROOT, 'dist', 'src', sub, name.replace(/\.ts$/, '.js'));
      if (!existsSync(js)) throw new Error(`${js} is missing: run \`npm run build\` before these tests`);
      if (statSync(js).mtimeMs + 1 < statSync(path.join(srcDir, name)).mtimeMs) {
        throw new Error(`${js} is older than src/${sub}/${name}: run \`npm run build\` before these tests`);
      }
    }
  }
}
