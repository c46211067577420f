/**
 * Every adapter has the same shape and names (STYLE principle 5): `adapters/<name>/index.ts`
 * exports `create<Name>Adapter` and a `<Name>AdapterConfig` zod schema, and keeps normalize,
 * render and verify in their own files; adapters import only src/core (and their SDK).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT } from '../helpers/run-cli.js';

const ADAPTERS = path.join(REPO_ROOT, 'adapters');
const names = readdirSync(ADAPTERS).filter((n) => statSync(path.join(ADAPTERS, n)).isDirectory() && existsSync(path.join(ADAPTERS, n, 'index.ts')));
const pascal = (n: string) => n.replace(/(^|[-_])(\w)/g, (_, __, c: string) => c.toUpperCase());

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}

describe('adapter shape', () => {
  it('there is at least one adapter', () => expect(names).toContain('telegram'));

  for (const name of names) {
    describe(name, () => {
      it(`exports create${pascal(name)}Adapter and a ${pascal(name)}AdapterConfig zod schema`, async () => {
        const mod = (await import(path.join(ADAPTERS, name, 'index.ts'))) as Record<string, unknown>;
        expect(typeof mod[`create${pascal(name)}Adapter`]).toBe('function');
        expect(mod[`${pascal(name)}AdapterConfig`]).toBeInstanceOf(z.ZodType);
      });

      it('has normalize, render and verify files', () => {
        for (const f of ['normalize.ts', 'render.ts', 'verify.ts']) expect(existsSync(path.join(ADAPTERS, name, f)), `${name}/${f}`).toBe(true);
      });

      it('imports only src/core from the host, never another adapter', () => {
        for (const file of sourceFiles(path.join(ADAPTERS, name))) {
          const text = readFileSync(file, 'utf8');
          for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
            const target = path.resolve(path.dirname(file), m[1]!);
            const rel = path.relative(REPO_ROOT, target);
            const ok = rel.startsWith(path.join('src', 'core')) || rel.startsWith(path.join('adapters', name)) || rel.startsWith(path.join('adapters', 'shared'));
            expect(ok, `${path.relative(REPO_ROOT, file)} imports ${m[1]}`).toBe(true);
          }
        }
      });
    });
  }
});
