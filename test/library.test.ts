import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../src/config/json-schema.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

describe('the package', () => {
  it('can be imported by name with the documented exports (built output)', async () => {
    const script = `
      import { FileSessionStore, RedisSessionStore, MemorySessionStore, sessionKey, isSessionStore } from 'bothost';
      import { loadConfig, createHost, runTurn } from 'bothost/runtime';
      const store = new MemorySessionStore();
      await store.addMessage(sessionKey('telegram', 12345), 'user', 'Hello!');
      console.log(JSON.stringify({
        key: sessionKey('telegram', 12345),
        history: await store.getChatHistory('bot_telegram_12345', 20),
        fns: [FileSessionStore, RedisSessionStore, loadConfig, createHost, runTurn].map((f) => typeof f),
        isStore: isSessionStore(new FileSessionStore({ dir: '/tmp/unused-bothost-dir' })),
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(JSON.parse(stdout)).toEqual({
      key: 'bot_telegram_12345',
      history: [{ role: 'user', content: 'Hello!' }],
      fns: ['function', 'function', 'function', 'function', 'function'],
      isStore: true,
    });
  });

  it('importing bothost loads no third-party package (no Redis, Postgres, queue, zod or yaml until used)', async () => {
    const hook = `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('/node_modules/')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const { FileSessionStore } = await import('bothost');
      new FileSessionStore({ dir: '/tmp/unused-bothost-dir' });
      console.log('ok');`;
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(stdout.trim()).toBe('ok');
    expect(stderr).not.toContain('LOADED');
    // The probe works: the runtime entry does load third-party packages.
    const heavy = await run(process.execPath, ['--input-type=module', '-e', script.replace("import('bothost')", "import('bothost/runtime')").replace('const { FileSessionStore }', 'const { FileSessionStore = class { constructor() {} } }')], { cwd: root });
    expect(heavy.stderr).toContain('LOADED');
  });

  it('ships a bots.schema.json generated from the current config schema', async () => {
    const committed = JSON.parse(await readFile(path.join(root, 'bots.schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});
