/**
 * How fast the `bot` command starts, against `node -e 0` on the same machine in the same run:
 * - `bot --help`;
 * - `bot chat --message hi` with the built-in defaults (echo model, file store) in an empty
 *   temporary HOME and working directory: load, open the store, one turn, commit, exit.
 * The three commands run in interleaved rounds so the machine's other load hits each alike; each
 * figure is the median of the rounds, reported as a ratio to the median of `node -e 0`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type Report } from './report.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 10);

function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (run.status !== 0) throw new Error(`bench: ${args.join(' ')} exited ${run.status}\n${run.stderr}`);
  return ms;
}

export async function benchCli(report: Report): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'bothost-bench-cli-'));
  // Nothing from the caller's environment may pick a config, a store or a model.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LOG_LEVEL: 'warn' };
  const node: number[] = [];
  const help: number[] = [];
  const chat: number[] = [];
  try {
    // One untimed run of each: the first chat creates the store's directory.
    timed([CLI, 'chat', '--message', 'warm-up'], home, env);
    for (let i = 0; i < ROUNDS; i++) {
      node.push(timed(['-e', '0'], home, env));
      help.push(timed([CLI, '--help'], home, env));
      chat.push(timed([CLI, 'chat', '--message', 'hi'], home, env));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const base = median(node);
  const extra = (xs: number[]) => ({ median_ms: Math.round(median(xs)), node_e0_ms: Math.round(base), rounds: ROUNDS });
  report.add({ name: 'cli: bot --help, × node -e 0', value: median(help) / base, unit: '×', target: '≤ 2×', pass: median(help) / base <= 2, extra: extra(help) });
  report.add({ name: 'cli: bot chat --message hi (defaults), × node -e 0', value: median(chat) / base, unit: '×', target: '≤ 3×', pass: median(chat) / base <= 3, extra: extra(chat) });
}
