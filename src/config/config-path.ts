/** Where bots.yaml is looked for, and `~` in its paths — without loading the YAML parser or the schema. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { Env } from './interpolate.js';

export const DEFAULT_CONFIG_FILE = 'bots.yaml';
/** Environment variable naming the config file when no explicit path is given. */
export const CONFIG_PATH_ENV = 'BOTHOST_CONFIG';

/**
 * Which config file to read: `explicit` (must exist) → `$BOTHOST_CONFIG` (must exist) →
 * `bots.yaml` in `cwd` if present → null (built-in defaults). A named file that is missing is an
 * error rather than a silent fall back to defaults. Returns an absolute path.
 */
export function resolveConfigPath(
  explicit?: string,
  env: Env = process.env,
  cwd: string = process.cwd(),
): string | null {
  const fromEnv = env[CONFIG_PATH_ENV];
  const named = explicit || fromEnv;
  if (named) {
    const absolute = path.resolve(cwd, named);
    if (!existsSync(absolute)) {
      const [source, fix] = explicit
        ? ['', 'check the path, or omit it to use ./bots.yaml']
        : [` (from ${CONFIG_PATH_ENV})`, `fix or unset ${CONFIG_PATH_ENV}`];
      throw new ConfigError(`config file ${named}${source} not found (looked at ${absolute}); ${fix}`, '', undefined, absolute);
    }
    return absolute;
  }
  const local = path.join(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(local) ? local : null;
}

/** `~` and `~/x` → under `home`; `~user` and everything else unchanged. */
export function expandHome(p: string, home: string = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(home, p.slice(2));
  return p;
}
