// Copies non-TypeScript assets (Lua scripts, SQL, web pages) next to the compiled output, and
// makes the `bot` entry point executable (tsc writes it 0644; npm sets the bit only when it
// links the bin, so a rebuilt or reused checkout's `npx bot` would fail with "Permission denied").
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
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
// The web chat's Markdown renderer and sanitiser, served by the gateway as /vendor/*.
const vendor = path.join('dist', 'src', 'gateway', 'web', 'vendor');
mkdirSync(vendor, { recursive: true });
cpSync(path.join('node_modules', 'marked', 'lib', 'marked.umd.js'), path.join(vendor, 'marked.js'));
cpSync(path.join('node_modules', 'dompurify', 'dist', 'purify.min.js'), path.join(vendor, 'purify.js'));
chmodSync(path.join('dist', 'src', 'cli', 'main.js'), 0o755);
