/**
 * What the platform end-to-end tests (Telegram, Discord, Slack) share: a fake platform server per
 * test, a CLI sandbox per test, a bots.yaml written into it, and `bot <platform>` processes started
 * until their ready line and stopped with SIGTERM expecting a clean exit.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { assertBuilt, killAllCli, makeSandbox, startCli, type CliOptions, type LiveCli, type Sandbox } from './run-cli.js';

/** A fake platform server: started per test, closed after it. */
export interface ClosableFake {
  close(): Promise<void>;
}

/** A fake server per test; after each test every CLI process is killed and the fake closed. */
export function fakeServerPerTest<F extends ClosableFake>(startFake: () => Promise<F>): { readonly fake: F } {
  let fake: F | undefined;
  beforeEach(async () => {
    fake = await startFake();
  });
  afterEach(async () => {
    killAllCli();
    await fake?.close();
  });
  return {
    get fake() {
      if (!fake) throw new Error('the fake server starts in beforeEach');
      return fake;
    },
  };
}

/**
 * A fake server and a CLI sandbox (its processes get `sandboxEnv`, e.g. the platform's token) per
 * test; after each test every CLI process is killed, the fake closed and the sandbox removed.
 */
export function fakeServerAndSandboxPerTest<F extends ClosableFake>(startFake: () => Promise<F>, sandboxEnv: Record<string, string> = {}): { readonly fake: F; readonly sb: Sandbox } {
  let fake: F | undefined;
  let sb: Sandbox | undefined;
  beforeAll(() => assertBuilt());
  beforeEach(async () => {
    fake = await startFake();
    sb = await makeSandbox(sandboxEnv);
  });
  afterEach(async () => {
    killAllCli();
    await fake?.close();
    await sb?.cleanup();
  });
  afterAll(() => killAllCli());
  return {
    get fake() {
      if (!fake) throw new Error('the fake server starts in beforeEach');
      return fake;
    },
    get sb() {
      if (!sb) throw new Error('the sandbox is made in beforeEach');
      return sb;
    },
  };
}

/** Writes `yaml` into the sandbox's cwd (as bots.yaml unless named) and returns its path. */
export async function writeConfig(sb: Sandbox, yaml: string, name = 'bots.yaml'): Promise<string> {
  const file = path.join(sb.cwd, name);
  await fsp.writeFile(file, yaml);
  return file;
}

/** Starts `bot <args>` (killed after 120 s unless `options.timeoutMs`) and waits up to 20 s for `ready` on its stderr. */
export async function startCliUntilReady(sb: Sandbox, args: readonly string[], ready: RegExp, options: CliOptions = {}): Promise<LiveCli> {
  const cli = startCli(sb, args, { timeoutMs: 120_000, ...options });
  await cli.waitForStderr(ready, { timeoutMs: 20_000 });
  return cli;
}

/** Stops a CLI with SIGTERM and expects a clean exit (0); returns everything it printed (stdout + stderr). */
export async function stopCli(cli: LiveCli): Promise<string> {
  cli.proc.kill('SIGTERM');
  const done = await cli.exited(20_000);
  if (done.code !== 0) throw new Error(`bot ${cli.proc.spawnargs.slice(2).join(' ')} exited ${done.code}/${done.signal} after SIGTERM\n${done.stderr}`);
  return done.all;
}
