/**
 * The web chat's files, read once at start and served from memory: the page and its ES modules
 * (src/gateway/web), and the browser code of its dependencies, taken from node_modules so there
 * is no build step: marked and DOMPurify (their own browser builds), and highlight.js, whose
 * package ships CommonJS only — its core and common languages (files with no imports) are
 * wrapped here into one classic script that defines `window.hljs`, plus a light and a dark theme.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** The page's own files (src/gateway/web/…). */
const PAGE_FILES: Record<string, string> = {
  'index.html': HTML,
  'style.css': CSS,
  'app.js': JS,
  'chat-store.js': JS,
  'render.js': JS,
  'sidebar.js': JS,
  'transcript.js': JS,
  'connection.js': JS,
};

/** Languages highlighted in replies (highlight.js's "common" set, minus rarely pasted ones). */
const HLJS_LANGUAGES = [
  'bash', 'c', 'cpp', 'csharp', 'css', 'diff', 'go', 'ini', 'java', 'javascript', 'json', 'kotlin', 'makefile', 'markdown',
  'php', 'plaintext', 'python', 'ruby', 'rust', 'shell', 'sql', 'swift', 'typescript', 'xml', 'yaml', 'dockerfile',
];

export interface WebAsset {
  body: Buffer;
  type: string;
}

const require = createRequire(import.meta.url);
const packageDir = (pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`));
const beside = (pkg: string, name: string) => path.join(path.dirname(require.resolve(pkg)), name);

/** Every served path → its bytes and content type. */
export async function loadWebAssets(): Promise<Map<string, WebAsset>> {
  const assets = new Map<string, WebAsset>();
  const dir = new URL('./web/', import.meta.url);
  for (const [file, type] of Object.entries(PAGE_FILES)) assets.set(`/${file}`, { body: await readFile(new URL(file, dir)), type });
  assets.set('/', assets.get('/index.html')!);
  assets.set('/vendor/marked.js', { body: await readFile(beside('marked', 'marked.umd.js')), type: JS });
  assets.set('/vendor/purify.js', { body: await readFile(beside('dompurify', 'purify.min.js')), type: JS });
  const hljs = packageDir('highlight.js');
  assets.set('/vendor/highlight.js', { body: Buffer.from(await highlightBundle(hljs)), type: JS });
  assets.set('/vendor/hljs-light.css', { body: await readFile(path.join(hljs, 'styles', 'github.min.css')), type: CSS });
  assets.set('/vendor/hljs-dark.css', { body: await readFile(path.join(hljs, 'styles', 'github-dark.min.css')), type: CSS });
  return assets;
}

/** highlight.js core + languages as one classic script (each file is a self-contained CommonJS module). */
async function highlightBundle(dir: string): Promise<string> {
  const wrap = (source: string) => `(function(){var module={exports:{}};var exports=module.exports;\n${source}\nreturn module.exports;})()`;
  const parts = [`window.hljs=${wrap(await readFile(path.join(dir, 'lib', 'core.js'), 'utf8'))};`];
  for (const name of HLJS_LANGUAGES) {
    const source = await readFile(path.join(dir, 'lib', 'languages', `${name}.js`), 'utf8');
    parts.push(`window.hljs.registerLanguage(${JSON.stringify(name)},${wrap(source)});`);
  }
  return `/* highlight.js (BSD-3-Clause), core and common languages */\n${parts.join('\n')}\n`;
}
