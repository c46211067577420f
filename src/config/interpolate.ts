/**
 * `${VAR}` interpolation over the parsed YAML value (scalar strings only, never keys).
 *
 * - `${VAR}` → the variable; `${VAR:-fallback}` → the fallback when VAR is unset or empty.
 * - `$${` → a literal `${`. Values taken from the environment are never re-scanned.
 * - A scalar that is exactly `${VAR}` with VAR unset or empty makes the value *absent*: the map
 *   key (or list item) is removed and the path is recorded in `missingEnv`, so a default applies
 *   or a "VAR is not set" error can name the variable.
 * - `${VAR}` inside a longer string with VAR unset is an issue (set-but-empty gives "", as in sh).
 */
import { formatYamlPath, type YamlPath } from './yaml-path.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface InterpolationIssue {
  /** Path in the YAML source (before any list items were dropped). */
  path: YamlPath;
  message: string;
}

export interface InterpolationResult {
  value: unknown;
  /** YAML path (`bots[0].token`) → the unset variable that made it absent. */
  missingEnv: Record<string, string>;
  issues: InterpolationIssue[];
  /** Maps a path in `value` back to the YAML source, undoing list items dropped as absent. */
  toSourcePath(path: readonly PropertyKey[]): (string | number)[];
}

type StringResult =
  | { kind: 'value'; value: string }
  | { kind: 'absent'; variable: string }
  | { kind: 'error'; message: string };

// Order matters: the escape first, then a complete reference, then an unterminated `${`.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** Interpolates one string. Exported for tests and for callers outside bots.yaml. */
export function interpolateString(input: string, env: Env): StringResult {
  let out = '';
  let last = 0;
  for (const match of input.matchAll(REFERENCE)) {
    out += input.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[0] === '$${') {
      out += '${';
      continue;
    }
    const body = match[1];
    if (body === undefined) {
      return { kind: 'error', message: 'unterminated "${"; close it with "}", or write "$${" for a literal "${"' };
    }
    const parts = BODY.exec(body);
    if (!parts) {
      return {
        kind: 'error',
        message: `invalid reference "\${${body}}"; write \${NAME} or \${NAME:-default}, or "$\${" for a literal "\${"`,
      };
    }
    const name = parts[1] as string;
    const fallback = parts[2];
    const value = env[name];
    if (fallback !== undefined) {
      out += value === undefined || value === '' ? fallback : value;
    } else if (match[0] === input && (value === undefined || value === '')) {
      return { kind: 'absent', variable: name };
    } else if (value === undefined) {
      return {
        kind: 'error',
        message: `\`${name}\` is not set: export it, or write \${${name}:-default} to give a default`,
      };
    } else {
      out += value;
    }
  }
  return { kind: 'value', value: out + input.slice(last) };
}

const ABSENT = Symbol('absent');

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** Interpolates every string scalar in `value` (the result of `Document.toJS()`). */
export function interpolateEnv(value: unknown, env: Env): InterpolationResult {
  const missingEnv: Record<string, string> = {};
  const issues: InterpolationIssue[] = [];
  // Output path of a list that lost items → source index of each kept item.
  const keptIndexes = new Map<string, number[]>();

  const walk = (v: unknown, source: (string | number)[], output: (string | number)[]): unknown => {
    if (typeof v === 'string') {
      const r = interpolateString(v, env);
      if (r.kind === 'value') return r.value;
      if (r.kind === 'absent') {
        missingEnv[formatYamlPath(source)] = r.variable;
        return ABSENT;
      }
      issues.push({ path: source, message: r.message });
      return v;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      const kept: number[] = [];
      v.forEach((item, i) => {
        const w = walk(item, [...source, i], [...output, out.length]);
        if (w === ABSENT) return;
        out.push(w);
        kept.push(i);
      });
      if (kept.length !== v.length) keptIndexes.set(formatYamlPath(output), kept);
      return out;
    }
    if (isPlainObject(v)) {
      const entries: [string, unknown][] = [];
      for (const [k, item] of Object.entries(v)) {
        const w = walk(item, [...source, k], [...output, k]);
        if (w !== ABSENT) entries.push([k, w]);
      }
      // fromEntries defines own properties, so a `__proto__` key stays data (and is rejected later).
      return Object.fromEntries(entries);
    }
    return v;
  };

  const result = walk(value, [], []);
  return {
    value: result === ABSENT ? undefined : result,
    missingEnv,
    issues,
    toSourcePath(path) {
      const source: (string | number)[] = [];
      const output: PropertyKey[] = [];
      for (const seg of path) {
        const kept = typeof seg === 'number' ? keptIndexes.get(formatYamlPath(output)) : undefined;
        source.push(kept && typeof seg === 'number' ? (kept[seg] ?? seg) : typeof seg === 'symbol' ? String(seg) : seg);
        output.push(seg);
      }
      return source;
    },
  };
}
