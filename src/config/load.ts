/**
 * Loading bots.yaml: find the file, parse it keeping line numbers, interpolate `${VAR}`,
 * validate with the zod schema, and report every problem at once as one ConfigError whose
 * lines read `bots.yaml:7: bots[0].platform: unknown platform "telegrm"; choose one of …`.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { builtinConfig } from './builtin-config.js';
import { DEFAULT_CONFIG_FILE, expandHome, resolveConfigPath } from './config-path.js';
import { describeIssue } from './describe-issue.js';
import { interpolateEnv, type Env } from './interpolate.js';
import { BotsConfigSchema, type BotsConfig } from './schema.js';
import { formatYamlPath, lineOfPath } from './yaml-path.js';

export { CONFIG_PATH_ENV, DEFAULT_CONFIG_FILE, expandHome, resolveConfigPath } from './config-path.js';

export type { ConfigSource, LoadedConfig } from './loaded-config.js';
import type { ConfigSource, LoadedConfig } from './loaded-config.js';

export interface ParseConfigOptions {
  /** Named in error messages (relative to the cwd when inside it); "bots.yaml" when omitted. */
  file?: string;
  /** Source of `${VAR}` values. Default: process.env. */
  env?: Env;
}

// yaml reports where it noticed the problem, which for an unclosed quote is the end of the file.
const SYNTAX_HINTS: Partial<Record<string, string>> = {
  MISSING_CHAR: 'add the missing character (an unclosed quote or bracket may start on an earlier line)',
  DUPLICATE_KEY: 'remove or rename one of the two keys',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
};

export interface LocatedIssue {
  path: string;
  line: number;
  message: string;
}

/** Finds (see resolveConfigPath), reads and validates the config. Throws ConfigError. */
export async function loadConfig(file?: string, env: Env = process.env): Promise<LoadedConfig> {
  const resolved = resolveConfigPath(file, env);
  // No file: the defaults, built without the YAML parser and the schema (what parseConfig('') gives).
  if (resolved === null) return builtinConfig();
  let text: string;
  try {
    text = await readFile(resolved, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`cannot read config file ${resolved}: ${reason}; check that it is a readable file`, '', undefined, resolved);
  }
  return parseConfig(text, { file: resolved, env });
}

/**
 * Validates bots.yaml text. An empty document gives the built-in defaults.
 * @example parseConfig('gateway: { enabled: true }', { env: {} }).config.gateway.port // 8765
 */
export function parseConfig(text: string, opts: ParseConfigOptions = {}): LoadedConfig {
  const display = displayName(opts.file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw toConfigError(
      display,
      opts.file,
      doc.errors.map((e) => ({
        path: '',
        line: lineCounter.linePos(e.pos[0]).line,
        message: `YAML syntax error: ${e.message}; ${SYNTAX_HINTS[e.code] ?? 'fix the YAML near this line (check indentation and quoting)'}`,
      })),
    );
  }

  let parsed: unknown;
  try {
    parsed = doc.toJS() ?? {};
  } catch (err) {
    // e.g. an alias bomb: yaml refuses to expand excessive aliases while converting.
    const reason = err instanceof Error ? err.message : String(err);
    throw toConfigError(display, opts.file, [{ path: '', line: 1, message: `${reason}; simplify the anchors and aliases` }]);
  }
  const interpolated = interpolateEnv(parsed, opts.env ?? process.env);
  const { missingEnv } = interpolated;
  const issues: LocatedIssue[] = interpolated.issues.map((i) => ({
    path: formatYamlPath(i.path),
    line: lineOfPath(doc, lineCounter, i.path),
    message: i.message,
  }));
  // A string with a broken `${…}` is kept raw; do not also report what the schema thinks of it.
  const brokenPaths = new Set(issues.map((i) => i.path));

  const result = BotsConfigSchema.safeParse(interpolated.value, { reportInput: true });
  if (!result.success) {
    for (const zodIssue of result.error.issues) {
      for (const issue of describeIssue(zodIssue, BotsConfigSchema)) {
        const source = interpolated.toSourcePath(issue.path);
        const where = formatYamlPath(source);
        if (brokenPaths.has(where)) continue;
        const variable = missingEnv[where];
        const message = variable
          ? `\`${variable}\` is not set: export it or put the value in ${path.basename(display)} at ${where}`
          : issue.message;
        issues.push({ path: where, line: lineOfPath(doc, lineCounter, source), message });
      }
    }
  }
  if (issues.length > 0 || !result.success) throw toConfigError(display, opts.file, issues);

  const home = os.homedir();
  const config: BotsConfig = {
    ...result.data,
    store: { ...result.data.store, path: expandHome(result.data.store.path, home) },
    queue: { ...result.data.queue, intake_path: expandHome(result.data.queue.intake_path, home) },
    gateway: {
      ...result.data.gateway,
      session: {
        ...result.data.gateway.session,
        persist_path: expandHome(result.data.gateway.session.persist_path, home),
      },
    },
  };
  const source: ConfigSource = {
    display,
    ...(opts.file ? { file: opts.file } : {}),
    locate(p) {
      const sourcePath = interpolated.toSourcePath(p);
      return { path: formatYamlPath(sourcePath), line: lineOfPath(doc, lineCounter, sourcePath) };
    },
  };
  return { config, file: opts.file ?? null, missingEnv, source };
}

function displayName(file: string | undefined): string {
  if (!file) return DEFAULT_CONFIG_FILE;
  if (!path.isAbsolute(file)) return file;
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** All issues in line order; the first also fills `.path` / `.line`. */
export function toConfigError(display: string, file: string | undefined, issues: LocatedIssue[]): ConfigError {
  const sorted = [...issues].sort((a, b) => a.line - b.line);
  const lines = sorted.map((i) => `${display}:${i.line}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
  const first = sorted[0];
  const message =
    lines.length === 1 ? (lines[0] as string) : `${lines.length} problems in ${display}:\n${lines.join('\n')}`;
  return new ConfigError(message || `${display}: invalid config`, first?.path ?? '', first?.line, file);
}
