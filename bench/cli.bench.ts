/**
 * How fast the `bot` command starts, against `node -e 0` on the same machine in the same run:
 * - `bot --help`;
 * - `bot chat --message hi` with the built-in defaults (echo model, file store) in an empty
 *   temporary HOME and working directory: load, open the store, one turn, commit, exit.
 * The three commands run in interleaved rounds so the machine's other load hits each alike; each
 * figure is the median wall time of the rounds, as a ratio to the median of `node -e 0`. Beside
 * it, the same ratio of CPU time (user + system of the child, from /proc/self/stat in clock
 * ticks: Linux only), which a busy machine disturbs less than wall time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type Report } from './report.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 10);

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU ms of this process's waited-for children so far, or NaN where /proc is missing. */
function childrenCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // After the name: state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

interface Run {
  wallMs: number;
  cpuMs: number;
}

function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const cpu = childrenCpuMs();
  const t = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (run.status !== 0) throw new Error(`bench: ${args.join(' ')} exited ${run.status}\n${run.stderr}`);
  return { wallMs, cpuMs: childrenCpuMs() - cpu };
}

export async function benchCli(report: Report): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'bothost-bench-cli-'));
  // Nothing from the caller's environment may pick a config, a store or a model.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LOG_LEVEL: 'warn' };
  const node: Run[] = [];
  const help: Run[] = [];
  const chat: Run[] = [];
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
  const wall = (runs: Run[]) => median(runs.map((r) => r.wallMs));
  const cpu = (runs: Run[]) => median(runs.map((r) => r.cpuMs));
  const figure = (name: string, runs: Run[], limit: number) => {
    const ratio = wall(runs) / wall(node);
    report.add({
      name,
      value: ratio,
      unit: '×',
      target: `≤ ${limit}×`,
      pass: ratio <= limit,
      extra: { median_ms: Math.round(wall(runs)), node_e0_ms: Math.round(wall(node)), cpu_ms: cpu(runs), node_e0_cpu_ms: cpu(node), cpu_ratio: Math.round((cpu(runs) / cpu(node)) * 100) / 100, rounds: ROUNDS },
    });
  };
  figure('cli: bot --help, × node -e 0', help, 2);
  figure('cli: bot chat --message hi (defaults), × node -e 0', chat, 3);
}
