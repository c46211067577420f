/**
 * Where the durable intake stops: the console of `bot chat` runs its turn without it (the person
 * typing sees the reply or the failure; no platform was told "received"), while `bot gateway`'s
 * web chat — a client told `accepted` — still keeps every accepted message in the intake while
 * its turn runs. Both against a fake model that holds its reply, so the intake's
 * directory is looked at while the turn runs (docs/durability.md).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { startCli, useSandbox } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { TestClient } from '../gateway/ws-client.js';

const box = useSandbox();
let model: FakeOpenAI;
let release: () => void;

/** Every file under `dir` (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

beforeEach(async () => {
  const held = new Promise<void>((resolve) => (release = resolve));
  model = await startFakeOpenAI({
    responder: async (body) => {
      await held;
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      return `you said "${String(users.at(-1)?.content)}"`;
    },
  });
  await fsp.writeFile(
    path.join(box.sb.cwd, 'bots.yaml'),
    [`agents: { assistant: { model: fake-model, base_url: "${model.url}", api_key: fake-key-for-tests } }`, 'gateway:', '  allow_loopback_without_auth: true', '  session: { persist: true }', ''].join('\n'),
  );
});
afterEach(async () => {
  release();
  await model.close();
});

const intakeDir = () => path.join(box.sb.sessionsDir, '.intake');
const modelCalled = () => waitFor('the turn reached the model', () => model.requests.length > 0, { timeoutMs: 15_000 });

describe('the durable intake covers platforms and the web chat, not the console', () => {
  it('bot chat --message: nothing is written to the intake while its turn runs', async () => {
    const chat = startCli(box.sb, ['chat', '--session', 'console', '--message', 'hello'], { timeoutMs: 30_000 });
    await modelCalled();
    expect(await filesUnder(intakeDir())).toEqual([]);
    release();
    const done = await chat.exited();
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('you said "hello"');
  }, 40_000);

  it('bot gateway: an accepted message is in the intake while its turn runs', async () => {
    const port = await freePort();
    const gw = startCli(box.sb, ['gateway', '--port', String(port)], { timeoutMs: 60_000 });
    await gw.waitForStderr(/web chat at http/, { timeoutMs: 20_000 });
    const client = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
    try {
      await client.join({ session_id: 'web', since: 0 });
      client.send({ type: 'message', content: 'hello', id: 'm1' });
      await client.next((f) => f.type === 'accepted', { timeoutMs: 10_000 });
      await modelCalled();
      const held = await Promise.all((await filesUnder(intakeDir())).map((f) => fsp.readFile(f, 'utf8')));
      expect(held.join('\n')).toContain('hello');
      release();
      await client.next((f) => f.type === 'response', { timeoutMs: 10_000 });
    } finally {
      client.ws.terminate();
      gw.proc.kill('SIGTERM');
      await gw.exited(20_000);
    }
  }, 60_000);
});
