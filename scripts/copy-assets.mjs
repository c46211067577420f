// Copies non-TypeScript assets (Lua scripts, SQL, web pages) next to the compiled output, and
// makes the `bot` entry point executable (tsc writes it 0644; npm sets the bit only when it
// links the bin, so a rebuilt checkout's entry point would fail with "Permission denied").
import { chmodSync, cpSync, existsSync, readdirSync, statSync } from 'node:fs';
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

chmodSync(path.join('dist', 'src', 'cli', 'main.js'), 0o755);
