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
      import { FileSessionStore, RedisSessionStore, MemorySessionStore, sessionKey, isSessionStore, loadConfig, createHost, runTurn } from 'bothost';
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

  it('ships a bots.schema.json generated from the current config schema', async () => {
    const committed = JSON.parse(await readFile(path.join(root, 'bots.schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});
