/**
 * Turns in flight across disconnects and restarts, with real processes and a slow model (the fake
 * OpenAI-compatible server): a graceful stop finishes them; a SIGKILL leaves them in the durable
 * pending_inbox and the restarted gateway runs them — each exactly once in the log.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { startCli, useSandbox, type LiveCli } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';

const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;
const box = useSandbox();
let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup() {
  fake = await startFakeOpenAI({
    responder: (body) => {
      const last = (body.messages ?? []).filter((m) => m.role === 'user').at(-1)?.content;
      return { text: `slow reply to ${String(last)} with several words in it`, delayMs: 200 };
    },
  });
  const port = await freePort();
  const config = path.join(box.sb.cwd, 'bots.yaml');
  await fsp.writeFile(config, [
    `agents: { assistant: { model: fake-model, base_url: "${fake.url}", api_key: fake-key-for-tests } }`,
    'gateway:',
    '  allow_loopback_without_auth: true',
    '  session: { persist: true }',
    '',
  ].join('\n'));
  const start = async (): Promise<LiveCli> => {
    const cli = startCli(box.sb, ['gateway', '--port', String(port)], { timeoutMs: 60_000 });
    await cli.waitForStderr(READY, { timeoutMs: 15_000 });
    return cli;
  };
  return { url: `ws://127.0.0.1:${port}/ws`, start };
}

async function sendThree(url: string): Promise<TestClient> {
  const c = await TestClient.open(url);
  await c.join({ session_id: 'restart', since: 0 });
  for (const id of ['m1', 'm2', 'm3']) {
    const from = c.frames.length;
    c.send({ type: 'message', content: `question ${id}`, id });
    await c.next((f) => f.type === 'accepted' && f.id === id, { from });
  }
  return c;
}

async function logAfterRestart(url: string): Promise<{ ids: string[]; replies: number; cursors: number[] }> {
  const c = await TestClient.open(url);
  await c.join({ session_id: 'restart', since: 0 });
  await c.next((f) => (f.type === 'replay' ? f.event.cursor : f.cursor) === 6 && ['replay', 'response'].includes(f.type), { timeoutMs: 20_000 });
  const events = c.frames.flatMap((f) => (f.type === 'replay' ? [f.event] : f.type === 'message' || f.type === 'response' ? [f] : []));
  return { ids: events.filter((e) => e.type === 'message').map((e) => e.id), replies: events.filter((e) => e.type === 'response').length, cursors: c.cursors() };
}

describe('turns in flight across restarts', () => {
  it('SIGTERM with turns queued: they finish before exit 0, and a resuming client gets every reply once', async () => {
    const { url, start } = await setup();
    const gw = await start();
    const c = await sendThree(url);
    c.ws.terminate(); // the client leaves; its turns do not
    gw.proc.kill('SIGTERM');
    const done = await gw.exited(30_000);
    expect(done.code, done.stderr).toBe(0);
    expect(fake!.requests.length).toBe(3);
    await start();
    const log = await logAfterRestart(url);
    expect(log.ids).toEqual(['m1', 'm2', 'm3']);
    expect(log.replies).toBe(3);
    expect(log.cursors).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fake!.requests.length).toBe(3); // nothing ran twice
  });

  it('SIGKILL with turns accepted but not run: pending_inbox survives and the restarted gateway runs each once', async () => {
    const { url, start } = await setup();
    const gw = await start();
    const c = await sendThree(url);
    gw.proc.kill('SIGKILL');
    await gw.exited();
    await c.closed;
    expect(fake!.requests.length).toBeLessThan(3); // the kill landed while turns were still waiting
    await start();
    const log = await logAfterRestart(url);
    expect(log.ids).toEqual(['m1', 'm2', 'm3']);
    expect(log.replies).toBe(3);
    expect(log.cursors).toEqual([1, 2, 3, 4, 5, 6]);
    // The marks are cleared right after the reply is sent: poll briefly.
    let joined: Record<string, unknown> = {};
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
      const probe = await TestClient.open(url);
      joined = await probe.join({ session_id: 'restart' });
      probe.close();
      if ((joined.pending as unknown[]).length === 0 && joined.executing === false) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(joined).toMatchObject({ pending: [], executing: false });
  });
});
