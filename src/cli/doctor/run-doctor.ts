/** The checks of `bot doctor`, in report order (loaded only when the command runs). */
import { loadConfig } from '../../config/load.js';
import { fail, ok, type CheckResult } from '../../ops/doctor-report.js';
import { checkNode, checkRedisSafety, checkStore, redisUrlsOf } from './infra-checks.js';
import { checkBots, checkExposure, checkModels } from './service-checks.js';

export async function runDoctor(configFile: string | undefined, env: Record<string, string | undefined>): Promise<CheckResult[]> {
  const results: CheckResult[] = [checkNode()];
  let loaded;
  try {
    loaded = await loadConfig(configFile, env);
    results.push(ok('config', `${loaded.file ?? '(built-in defaults: no bots.yaml found)'} is valid`));
  } catch (err) {
    results.push(fail('config', (err as Error).message, 'fix bots.yaml as the message says (`bot config check` shows the same)'));
    return results; // every other check reads the config
  }
  const { config } = loaded;
  // Independent checks run at once; the report keeps this order.
  const groups = await Promise.all([
    checkStore(config.store).then((r) => [r]),
    Promise.all(redisUrlsOf(config, env).map((url) => checkRedisSafety(url))).then((r) => r.flat()),
    checkModels(config, env),
    checkBots(loaded),
    Promise.resolve(checkExposure(config, env)),
  ]);
  return [...results, ...groups.flat()];
}
