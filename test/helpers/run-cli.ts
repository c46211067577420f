/**
 * Spawning the real compiled `bot` CLI (`node dist/src/cli/main.js …`) as OS processes, each in
 * a sandbox: its own HOME (so the file store lands in HOME/.bothost/sessions), its own cwd (so
 * the repo's ./bots.yaml is not picked up unless a test copies it there), an environment without
 * OPENAI_* / BOT_MODEL / BOTHOST_CONFIG / bot tokens unless the test sets them, and a timeout.
 * Run `npm run build` first (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const CLI_ENTRY = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
export const REPO_BOTS_YAML = path.join(REPO_ROOT, 'bots.yaml');

/** Variables a developer's shell may carry that would change what the CLI does. */
const STRIPPED_ENV = /^(OPENAI_|BOT_MODEL$|BOTHOST_|TELEGRAM_|DISCORD_|SLACK_|WHATSAPP_|LOG_LEVEL$|NODE_OPTIONS$|REDIS_URL$|DATABASE_URL$)/;

export function assertBuilt(): void {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\` first`);
}

/** An isolated HOME and cwd for CLI processes, removed by `cleanup()`. */
export interface Sandbox {
  root: string;
  home: string;
  cwd: string;
  /** HOME/.bothost/sessions: where the default file store keeps sessions. */
  sessionsDir: string;
  /** Extra environment for every process of this sandbox. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function makeSandbox(env: Record<string, string> = {}): Promise<Sandbox> {
  // realpath: macOS /var → /private/var, so printed paths compare equal.
  const root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'bothost-cli-')));
  const home = path.join(root, 'home');
  const cwd = path.join(root, 'cwd');
  await fsp.mkdir(home);
  await fsp.mkdir(cwd);
  return {
    root,
    home,
    cwd,
    sessionsDir: path.join(home, '.bothost', 'sessions'),
    env,
    cleanup: () => fsp.rm(root, { recursive: true, force: true }),
  };
}

/** The environment a CLI process gets: the parent's minus anything that would steer it. */
export function cliEnv(sandbox: Sandbox, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!STRIPPED_ENV.test(k) && v !== undefined) env[k] = v;
  return { ...env, HOME: sandbox.home, USERPROFILE: sandbox.home, NO_COLOR: '1', ...sandbox.env, ...extra };
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Written to stdin, then stdin is closed. Without it stdin is closed at once. */
  input?: string;
  /** Killed (SIGKILL) after this long; the result says `timedOut`. Default 20 s. */
  timeoutMs?: number;
  /** Working directory; default the sandbox's cwd. */
  cwd?: string;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** stdout + stderr, for "never printed anywhere" checks. */
  all: string;
}

const live = new Set<ChildProcess>();

/** Kills (SIGKILL) every CLI process still running: call in afterEach/afterAll. */
export function killAllCli(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  live.clear();
}

function spawnRaw(sandbox: Sandbox, args: readonly string[], options: CliOptions): ChildProcess {
  const proc = spawn(process.execPath, [CLI_ENTRY, ...args], {
    cwd: options.cwd ?? sandbox.cwd,
    env: cliEnv(sandbox, options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.on('close', () => live.delete(proc));
  proc.stdin!.on('error', () => undefined); // the CLI may exit before reading stdin
  return proc;
}

/** Runs `bot <args>` to completion. Never rejects on a non-zero exit; check `code`. */
export function runCli(sandbox: Sandbox, args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const proc = spawnRaw(sandbox, args, options);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  proc.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, options.timeoutMs ?? 20_000);
  return new Promise<CliResult>((resolve, reject) => {
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, all: `${stdout}\n${stderr}` });
    });
  });
}

/** Runs `bot <args>`, expects exit 0 and JSON on stdout; returns the parsed value. */
export async function runCliJson<T = any>(sandbox: Sandbox, args: readonly string[], options: CliOptions = {}): Promise<T> {
  const r = await runCli(sandbox, args, options);
  if (r.code !== 0) throw new Error(`bot ${args.join(' ')} exited ${r.code} (signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`bot ${args.join(' ')} did not print JSON:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** A long-running CLI process (interactive chat, `bot start`) driven step by step. */
export interface LiveCli {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) matches, looking only at text after `from` (default 0). */
  waitForStdout(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<RegExpMatchArray>;
  waitForStderr(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<RegExpMatchArray>;
  write(text: string): void;
  /** Resolves when the process has exited and its output is drained; SIGKILL after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<CliResult>;
}

export function startCli(sandbox: Sandbox, args: readonly string[], options: CliOptions = {}): LiveCli {
  const proc = spawnRaw(sandbox, args, options);
  const out = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  const poke = () => waiters.splice(0).forEach((w) => w());
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out.stdout += d;
    poke();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out.stderr += d;
    poke();
  });
  let closed: CliResult | undefined;
  let timedOut = false;
  const closedPromise = new Promise<CliResult>((resolve) => {
    proc.on('close', (code, signal) => {
      closed = { code, signal, stdout: out.stdout, stderr: out.stderr, timedOut, all: `${out.stdout}\n${out.stderr}` };
      poke();
      resolve(closed);
    });
  });
  const hardStop = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, options.timeoutMs ?? 30_000);
  void closedPromise.then(() => clearTimeout(hardStop));

  const waitFor = (which: 'stdout' | 'stderr', pattern: RegExp, opts: { from?: number; timeoutMs?: number } = {}) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = (): boolean => {
        const m = out[which].slice(opts.from ?? 0).match(pattern);
        if (m) {
          clearTimeout(timer);
          resolve(m);
          return true;
        }
        if (closed) {
          clearTimeout(timer);
          reject(new Error(`bot ${args.join(' ')} exited (${closed.code}/${closed.signal}) before ${which} matched ${pattern}\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`));
          return true;
        }
        waiters.push(check as () => void);
        return false;
      };
      const timer = setTimeout(
        () => reject(new Error(`bot ${args.join(' ')}: ${which} did not match ${pattern} within ${opts.timeoutMs ?? 10_000} ms\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`)),
        opts.timeoutMs ?? 10_000,
      );
      check();
    });

  return {
    proc,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    waitForStdout: (p, o) => waitFor('stdout', p, o),
    waitForStderr: (p, o) => waitFor('stderr', p, o),
    write: (text) => void proc.stdin!.write(text),
    exited: (timeoutMs = 10_000) => {
      const t = setTimeout(() => {
        timedOut = true;
        proc.kill('SIGKILL');
      }, timeoutMs);
      return closedPromise.finally(() => clearTimeout(t));
    },
  };
}

/** Every file and directory under `dir` (relative paths), or [] if it does not exist. */
export async function listTree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await fsp.readdir(dir, { recursive: true })).map(String).sort();
}

/**
 * The hooks most CLI test files share: a fresh sandbox (HOME, cwd) per test, optionally with the
 * repo's bots.yaml in its cwd, and every CLI process killed afterwards. `cli.sb` is the sandbox.
 */
export function useSandbox(options: { withRepoConfig?: boolean } = {}): { readonly sb: Sandbox } {
  let sb: Sandbox | undefined;
  beforeAll(() => assertBuilt());
  beforeEach(async () => {
    sb = await makeSandbox();
    if (options.withRepoConfig) await fsp.copyFile(REPO_BOTS_YAML, path.join(sb.cwd, 'bots.yaml'));
  });
  afterEach(async () => {
    killAllCli();
    await sb?.cleanup();
  });
  afterAll(() => killAllCli());
  return {
    get sb() {
      if (!sb) throw new Error('the sandbox is made in beforeEach');
      return sb;
    },
  };
}
