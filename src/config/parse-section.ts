/**
 * Validating one section of an already-loaded bots.yaml with a schema that is not part of
 * schema.ts (a platform adapter's own keys: bots[] entries are loose there on purpose). Errors
 * go through the loader's machinery — describeIssue for the wording, the loader's source map
 * for YAML path and line — so they read `bots.yaml:12: bots[0].mode: unknown mode "pol"; …`.
 */
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { describeIssue } from './describe-issue.js';
import { toConfigError, type LoadedConfig, type LocatedIssue } from './load.js';
import { formatYamlPath } from './yaml-path.js';

/**
 * Parses `value` (the config found at `at`, e.g. `['bots', 0]`) with `schema`.
 * @example parseSection(loaded, ['bots', 0], TelegramAdapterConfig, loaded.config.bots[0])
 */
export function parseSection<S extends z.ZodType>(loaded: Pick<LoadedConfig, 'source' | 'missingEnv'>, at: readonly (string | number)[], schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issues: LocatedIssue[] = [];
  for (const zodIssue of result.error.issues) {
    for (const issue of describeIssue(zodIssue, schema)) {
      const full = [...at, ...issue.path];
      const located = loaded.source?.locate(full) ?? { path: formatYamlPath(full), line: 1 };
      const variable = loaded.missingEnv[located.path];
      const file = path.basename(loaded.source?.display ?? 'bots.yaml');
      const message = variable ? `\`${variable}\` is not set: export it or put the value in ${file} at ${located.path}` : issue.message;
      issues.push({ path: located.path, line: located.line, message });
    }
  }
  if (issues.length === 0) throw new ConfigError(`${formatYamlPath(at)}: invalid config`, formatYamlPath(at));
  return throwAt(loaded, issues);
}

function throwAt(loaded: Pick<LoadedConfig, 'source'>, issues: LocatedIssue[]): never {
  throw toConfigError(loaded.source?.display ?? 'bots.yaml', loaded.source?.file, issues);
}
