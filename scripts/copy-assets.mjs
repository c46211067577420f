// Copies non-TypeScript assets (Lua scripts, SQL, web pages) next to the compiled output.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const exts = new Set(['.lua', '.sql', '.html', '.css', '.js']);
function walk(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const src = path.join(dir, name);
    if (statSync(src).isDirectory()) walk(src);
    else if (exts.has(path.extname(name)) && !name.endsWith('.d.ts')) cpSync(src, path.join('dist', src));
  }
}
for (const root of ['src', 'adapters']) walk(root);
