/**
 * Turns zod issues into operator-facing messages that say how to fix the value. Values are only
 * echoed where they cannot be secrets (enum choices, numbers, strings given for a number or
 * boolean); a token or URL given where text is expected is never printed.
 */
import { z } from 'zod';

export interface ConfigIssue {
  /** Path in the validated value (not yet mapped back to the YAML source). */
  path: PropertyKey[];
  message: string;
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (indented `key: value` lines)',
  record: 'a mapping (indented `key: value` lines)',
  array: 'a list (`- item` lines)',
};

/** One zod issue → one or more messages (unknown keys are reported one per key). */
export function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType): ConfigIssue[] {
  const path = [...issue.path];
  const key = String(path.at(-1) ?? '');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(schema, path);
    return issue.keys.map((k) => {
      const guess = closestName(k, known);
      const fix = guess ? `did you mean '${guess}'?` : `remove it (known keys here: ${known.join(', ')})`;
      return { path: [...path, k], message: `unknown key '${k}'; ${fix}` };
    });
  }
  if (issue.input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) {
    const options = issue.code === 'invalid_value' ? ` (one of ${issue.values.map(String).join(', ')})` : '';
    return [{ path, message: `missing required key '${key}'; add \`${key}:\`${options}` }];
  }
  return [{ path, message: describeValueIssue(issue, path) }];
}

function describeValueIssue(issue: z.core.$ZodIssue, path: PropertyKey[]): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      const hint = issue.expected === 'string' && isScalar(issue.input) ? '; put the value in quotes' : '';
      return `must be ${expected}, got ${describeValue(issue.input, issue.expected !== 'string')}${hint}`;
    }
    case 'invalid_value':
      return `unknown ${labelOf(path)} ${describeValue(issue.input, true)}; choose one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty; set a value or remove the key to use the default';
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}, got ${describeValue(issue.input, true)}`;
    case 'too_big':
      if (issue.origin === 'string') return `is too long; use at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${describeValue(issue.input, true)}`;
    case 'invalid_union': {
      const names = issue.errors.flatMap((branch) =>
        branch.flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [EXPECTED[i.expected] ?? i.expected] : [])),
      );
      if (names.length === 0) return `${issue.message}; check the value`;
      return `must be ${names.join(' or ')}, got ${describeValue(issue.input, false)}`;
    }
    case 'custom':
      return issue.message;
    default:
      return `${issue.message}; check the value`;
  }
}

const isScalar = (v: unknown) => typeof v === 'number' || typeof v === 'boolean';

/**
 * A short description of a bad value. Its content only when `show`: never for a field that wants
 * text, since a token or key written unquoted (`api_key: 12345`) must not end up in a log.
 */
function describeValue(v: unknown, show: boolean): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (!show) return typeof v === 'string' ? 'text' : `a ${typeof v}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

/** `bots[0].platform` → "platform"; generic names get their section: "store backend". */
function labelOf(path: PropertyKey[]): string {
  const key = String(path.at(-1) ?? 'value');
  const parent = path.findLast((seg) => typeof seg === 'string' && seg !== key);
  const generic = ['backend', 'level', 'scope'].includes(key) && typeof parent === 'string';
  return (generic ? `${parent} ${key}` : key).replaceAll('_', ' ');
}

/** The keys the schema allows at `path` (an object nested anywhere in `schema`), or []. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = unwrap(schema);
  for (const seg of path) {
    if (node instanceof z.ZodObject) node = node.shape[String(seg)];
    else if (node instanceof z.ZodRecord) node = node.valueType;
    else if (node instanceof z.ZodArray) node = node.element;
    else return [];
    node = unwrap(node);
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

function unwrap(node: unknown): unknown {
  for (;;) {
    if (node instanceof z.ZodDefault || node instanceof z.ZodPrefault || node instanceof z.ZodOptional) {
      node = node.unwrap();
    } else if (node instanceof z.ZodPipe) {
      node = node.in instanceof z.ZodTransform ? node.out : node.in;
    } else {
      return node;
    }
  }
}

/** The closest known name to a typo, or undefined when nothing is plausibly meant. */
export function closestName(typo: string, names: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replaceAll('-', '_');
  const limit = Math.max(1, Math.floor(typo.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(norm(typo), norm(name));
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent swaps ("agnets" → "agents" is 1). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}
