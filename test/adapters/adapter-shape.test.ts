/**
 * Every adapter has the same shape and names: `adapters/<name>/index.ts` default-exports one
 * AdapterDefinition whose `platform` is the folder name and which the catalog lists; its module
 * stays light (what it imports statically reaches only zod, node built-ins, src/core and the
 * adapter's own light files — the SDK loads in `create`); normalize, render and outbound live
 * in their own files; adapters import only src/core from the host, never another adapter.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AdapterDefinition } from '../../src/core/adapter.js';
import { PLATFORMS } from '../../src/host/catalog.js';
import { REPO_ROOT } from '../helpers/run-cli.js';

const ADAPTERS = path.join(REPO_ROOT, 'adapters');
const names = readdirSync(ADAPTERS).filter((n) => statSync(path.join(ADAPTERS, n)).isDirectory() && existsSync(path.join(ADAPTERS, n, 'index.ts')));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}

/** Static (not `import()`) imports of a file, type-only ones excluded. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

/** Everything `file` loads at import time, transitively, as bare module names or repo-relative paths. */
function loadedAtImport(file: string, seen = new Set<string>()): Set<string> {
  for (const spec of staticImports(file)) {
    if (!spec.startsWith('.')) {
      seen.add(spec);
      continue;
    }
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
    const rel = path.relative(REPO_ROOT, target);
    if (seen.has(rel)) continue;
    seen.add(rel);
    loadedAtImport(target, seen);
  }
  return seen;
}

describe('adapter shape', () => {
  it('the catalog lists exactly the adapter folders', () => {
    expect(names).toContain('telegram');
    expect(Object.keys(PLATFORMS).sort()).toEqual([...names].sort());
  });

  for (const name of names) {
    describe(name, () => {
      it('default-exports its AdapterDefinition (platform, schema, env, missing, capabilities, create)', async () => {
        const definition = (await PLATFORMS[name]!.load()).default as AdapterDefinition;
        expect(definition.platform).toBe(name);
        expect(definition.schema).toBeInstanceOf(z.ZodType);
        expect(typeof definition.missing).toBe('function');
        expect(typeof definition.capabilities).toBe('function');
        expect(typeof definition.create).toBe('function');
        for (const variable of Object.values(definition.env)) expect(variable).toMatch(/^[A-Z][A-Z0-9_]+$/);
      });

      it('its definition module is light: no SDK or host module is loaded until create()', () => {
        for (const loaded of loadedAtImport(path.join(ADAPTERS, name, 'index.ts'))) {
          const ok = loaded === 'zod' || loaded.startsWith('node:') || loaded.startsWith(path.join('src', 'core')) || loaded.startsWith(path.join('adapters', name));
          expect(ok, `${name}/index.ts loads ${loaded} at import time`).toBe(true);
        }
      });

      it('has normalize, render and outbound files', () => {
        for (const f of ['normalize.ts', 'render.ts', 'outbound.ts']) expect(existsSync(path.join(ADAPTERS, name, f)), `${name}/${f}`).toBe(true);
      });

      it('imports only src/core from the host, never another adapter', () => {
        for (const file of sourceFiles(path.join(ADAPTERS, name))) {
          const text = readFileSync(file, 'utf8');
          for (const m of text.matchAll(/from '(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
            const target = path.resolve(path.dirname(file), m[1] ?? m[2]!);
            const rel = path.relative(REPO_ROOT, target);
            const ok = rel.startsWith(path.join('src', 'core')) || rel.startsWith(path.join('adapters', name));
            expect(ok, `${path.relative(REPO_ROOT, file)} imports ${m[1] ?? m[2]}`).toBe(true);
          }
        }
      });
    });
  }
});
