/**
 * vitest globalSetup: before any test file runs, make sure Redis, PostgreSQL and (when the run
 * includes a browser test) Chromium are there (test/global-setup-services.ts decides how), and
 * put their addresses in REDIS_URL, DATABASE_URL and CHROMIUM_PATH — the test workers are
 * started afterwards and inherit them.
 * Private servers this run started are stopped by pid in teardown (and on exit, if vitest is
 * interrupted before teardown).
 */
import { readFile } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, planChromium, planPostgres, planRedis, realProbes, shown, startPrivatePostgres, startPrivateRedis, type PrivateServer } from './global-setup-services.js';

/** The test files of this run that drive a browser (they import playwright-core). */
async function browserTestsIn(project: TestProject): Promise<string[]> {
  // The run's file filters (`vitest run test/gateway`): vitest keeps them on the instance.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
  const { testFiles } = await project.globTestFiles(filters);
  const uses = await Promise.all(testFiles.map(async (f) => (await readFile(f, 'utf8')).includes("from 'playwright-core'")));
  return testFiles.filter((_, i) => uses[i]);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  const started: PrivateServer[] = [];
  const killOnExit = () => started.forEach((s) => void tryKill(s.pid));
  process.once('exit', killOnExit);
  const say = (line: string) => process.stderr.write(`test setup: ${line}\n`);
  try {
    const [redis, postgres] = await Promise.all([planRedis(env, realProbes), planPostgres(env, realProbes)]);
    // Chromium only when this run includes a browser test: a run of the Redis tests needs none.
    const chromium = (await browserTestsIn(project)).length > 0 ? planChromium(env) : undefined;
    if ('start' in redis) {
      const s = await startPrivateRedis(redis.start);
      started.push(s);
      say(`no Redis answers at ${DEFAULT_REDIS_URL}: started a private redis-server at ${s.url} (pid ${s.pid})`);
      env.REDIS_URL = s.url;
    } else env.REDIS_URL = redis.use;
    if ('start' in postgres) {
      const s = await startPrivatePostgres(postgres.start);
      started.push(s);
      say(`no PostgreSQL answers at ${DEFAULT_DATABASE_URL}: started a private one at ${shown(s.url)} (pid ${s.pid})`);
      env.DATABASE_URL = s.url;
    } else env.DATABASE_URL = postgres.use;
    if (chromium) env.CHROMIUM_PATH = chromium;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    // Said first and plainly: vitest's own report of a failed setup starts with unrelated lines.
    process.stderr.write(`\nnpm test cannot start: ${(err as Error).message}\n\n`);
    throw err;
  }
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
    started.length = 0;
    process.off('exit', killOnExit);
  };
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
