/**
 * How fast the `bot` command starts, against `node -e 0` on the same machine in the same run:
 * - `bot --help`;
 * - `bot chat --message hi` with the built-in defaults (echo model, file store) in an empty
 *   temporary HOME and working directory: load, open the store, one turn, commit, exit;
 * - the same with the repo's bots.yaml in the working directory (parsed and validated);
 * - importing the library entry (`bothost`: dist/src/index.js) and exiting.
 * The three commands run in interleaved rounds so the machine's other load hits each alike; each
 * figure is the median wall time of the rounds, as a ratio to the median of `node -e 0`. Beside
 * it, the same ratio of CPU time (user + system, every thread, as the process itself reports it
 * when it exits), which a busy machine disturbs less than wall time.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type Report } from './tools/report.js';

const DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(DIST, 'src', 'cli', 'main.js');
const LIBRARY = path.join(DIST, 'src', 'index.js');
const REPO_BOTS_YAML = path.join(DIST, '..', 'bots.yaml');
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 10);

/** Preloaded into every timed process (the baseline too): prints its CPU time as it exits. */
const REPORT_CPU = `data:text/javascript,${encodeURIComponent('import { writeSync } from "node:fs"; process.on("exit", () => { const u = process.cpuUsage(); writeSync(2, `\\ncpu-us:${u.user + u.system}\\n`); });')}`;

interface Run {
  wallMs: number;
  cpuMs: number;
}

function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const t = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--import', REPORT_CPU, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  const cpu = /cpu-us:(\d+)\s*$/.exec(run.stderr);
  if (run.status !== 0 || !cpu) throw new Error(`bench: ${args.join(' ')} exited ${run.status}\n${run.stderr}`);
  return { wallMs, cpuMs: Number(cpu[1]) / 1000 };
}

export async function benchCli(report: Report): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'bothost-bench-cli-'));
  // Nothing from the caller's environment may pick a config, a store or a model.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LOG_LEVEL: 'warn' };
  const node: Run[] = [];
  const help: Run[] = [];
  const chat: Run[] = [];
  const chatYaml: Run[] = [];
  const library: Run[] = [];
  // The repo's bots.yaml (echo model, file store in HOME) in a working directory of its own.
  const withYaml = path.join(home, 'with-yaml');
  mkdirSync(withYaml);
  copyFileSync(REPO_BOTS_YAML, path.join(withYaml, 'bots.yaml'));
  try {
    // One untimed run of each: the first chat creates the store's directory.
    timed([CLI, 'chat', '--message', 'warm-up'], home, env);
    timed([CLI, 'chat', '--message', 'warm-up'], withYaml, env);
    for (let i = 0; i < ROUNDS; i++) {
      node.push(timed(['-e', '0'], home, env));
      help.push(timed([CLI, '--help'], home, env));
      chat.push(timed([CLI, 'chat', '--message', 'hi'], home, env));
      chatYaml.push(timed([CLI, 'chat', '--message', 'hi'], withYaml, env));
      library.push(timed([LIBRARY], home, env));
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
      extra: { median_ms: Math.round(wall(runs)), node_e0_ms: Math.round(wall(node)), cpu_ms: Math.round(cpu(runs)), node_e0_cpu_ms: Math.round(cpu(node)), cpu_ratio: Math.round((cpu(runs) / cpu(node)) * 100) / 100, rounds: ROUNDS },
    });
  };
  figure('cli: bot --help, × node -e 0', help, 2);
  figure('cli: bot chat --message hi (defaults), × node -e 0', chat, 3);
  figure('cli: bot chat --message hi (repo bots.yaml), × node -e 0', chatYaml, 3);
  figure('cli: import the library entry, × node -e 0', library, 2.5);
}
