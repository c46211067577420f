/**
 * Layers point one way. Every relative import of src/**.ts and adapters/**.ts — static, `export
 * … from`, type-only and dynamic `import()` alike — is checked against the order below, which
 * docs/architecture.md ("Code layout") states in the same words. A folder may import its own
 * files and any folder of a lower rank; an adapter imports only src/core (and its own folder).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/** Rank of each folder under src/ (the entry points index.ts and runtime.ts are the top). */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['core'],
  ['config', 'ops', 'redis'],
  ['sessions', 'locks', 'models', 'agent'],
  ['queue'],
  ['ingress'],
  ['host'],
  ['gateway'],
  ['cli'],
  ['index.ts', 'runtime.ts'],
];

/** The order as docs/architecture.md writes it. */
const DOCUMENTED_ORDER = LAYERS.slice(0, -1)
  .map((names) => names.join(', '))
  .join(' ← ');

/**
 * Imports that point upwards on purpose, `importer → imported` (paths from the repo root), each
 * with the reason it cannot be turned around. Empty today: add one only with its reason.
 */
const ALLOWED_UPWARDS: ReadonlyMap<string, string> = new Map<string, string>([]);

/** The host reaches adapters only through the lazy catalog. */
const ADAPTER_LOADERS = new Set(['src/host/catalog.ts']);

interface Import {
  from: string;
  to: string;
}

function tsFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/** The source without comments, so an example in a doc comment is not taken for an import. */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Every relative module a file imports, resolved to a repo path (`.js` specifiers name `.ts` sources). */
function importsOf(file: string, source: string): Import[] {
  const specifiers = [...code(source).matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specifiers.map((s) => ({ from: file, to: path.join(path.dirname(file), s).replace(/\.js$/, '.ts') }));
}

/** `src/queue/x.ts` → `queue`; `src/index.ts` → `index.ts`; `adapters/slack/x.ts` → `adapters/slack`. */
function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'adapters') return `adapters/${parts[1]}`;
  if (parts[0] === 'src') return parts[1]!;
  return parts[0]!;
}

function rankOf(unit: string): number {
  return LAYERS.findIndex((names) => names.includes(unit));
}

/** Why `imp` breaks the layering, or null when it does not. */
function violation(imp: Import): string | null {
  const from = unitOf(imp.from);
  const to = unitOf(imp.to);
  if (from === to) return null;
  if (from.startsWith('adapters/')) return to === 'core' ? null : `an adapter imports only src/core, not ${to}`;
  if (to.startsWith('adapters/')) return ADAPTER_LOADERS.has(imp.from) ? null : `only ${[...ADAPTER_LOADERS].join(', ')} loads adapters`;
  const [a, b] = [rankOf(from), rankOf(to)];
  if (a < 0) return `src/${from} has no place in the layer order: add it to LAYERS and to docs/architecture.md`;
  if (b < 0) return `src/${to} has no place in the layer order: add it to LAYERS and to docs/architecture.md`;
  if (b >= a) return `${from} (layer ${a}) must not import ${to} (layer ${b})`;
  return null;
}

describe('layers', () => {
  const files = [...tsFiles('src'), ...tsFiles('adapters')];

  it('no file imports a layer above its own (or beside it), and adapters import only src/core', () => {
    expect(files.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const file of files) {
      for (const imp of importsOf(file, readFileSync(path.join(root, file), 'utf8'))) {
        const why = violation(imp);
        if (why && !ALLOWED_UPWARDS.has(`${imp.from} → ${imp.to}`)) found.push(`${imp.from} → ${imp.to}: ${why}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('every allowed exception still exists (a fixed one leaves the list)', () => {
    const all = new Set(files.flatMap((f) => importsOf(f, readFileSync(path.join(root, f), 'utf8')).map((i) => `${i.from} → ${i.to}`)));
    expect([...ALLOWED_UPWARDS.keys()].filter((k) => !all.has(k))).toEqual([]);
  });

  it('catches upward, sideways, dynamic and type-only imports', () => {
    const check = (file: string, source: string) => importsOf(file, source).map(violation);
    expect(check('src/sessions/x.ts', "import { h } from '../host/host.js';")[0]).toMatch(/sessions \(layer 2\) must not import host/);
    expect(check('src/locks/x.ts', "import type { S } from '../sessions/s.js';")[0]).toMatch(/must not import sessions/);
    expect(check('src/queue/x.ts', "const m = await import('../gateway/g.js');")[0]).toMatch(/must not import gateway/);
    expect(check('src/core/x.ts', "export { a } from '../config/schema.js';")[0]).toMatch(/must not import config/);
    expect(check('adapters/slack/x.ts', "import { l } from '../../src/host/logger.js';")[0]).toMatch(/only src\/core/);
    expect(check('adapters/slack/x.ts', "import { t } from '../telegram/index.js';")[0]).toMatch(/only src\/core/);
    expect(check('src/wat/x.ts', "import { e } from '../core/errors.js';")[0]).toMatch(/no place in the layer order/);
    expect(check('src/host/x.ts', "// import { g } from '../gateway/g.js';\nimport { q } from '../queue/q.js';")).toEqual([null]);
    expect(check('src/cli/x.ts', "import {\n  a,\n  b,\n} from '../core/errors.js';")).toEqual([null]);
  });

  it('docs/architecture.md states the same order', () => {
    const doc = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8').replace(/`/g, '').replace(/\s+/g, ' ');
    expect(doc).toContain(DOCUMENTED_ORDER);
  });
});
