/**
 * T31 for the other embedded entry points, with real processes and a slow fake model (so kills
 * land while turns wait or run):
 * - `bot chat --message`: the console has no platform to acknowledge, so "acknowledged" is the
 *   host's `message accepted` line (LOG_LEVEL=debug), printed once the turn is durable. A chat
 *   killed after it must not lose the message: the next `bot chat` on the store answers it into
 *   its session before its own message (I1, I2, I3; I4 by the echo log check).
 * - `bot gateway`: every `message` frame answered `accepted` survives a SIGKILL of the gateway.
 * CI runs a few kills each; `CHAOS=full` (npm run chaos) a hundred each.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { runCliJson, startCli, useSandbox } from '../helpers/run-cli.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { TestClient } from '../gateway/ws-client.js';
import { ackProblems, FULL, randomInt, readStore } from './intake-checks.js';

const KILLS = FULL ? 100 : 5;
const box = useSandbox();
let model: FakeOpenAI;

beforeEach(async () => {
  // Answers like the echo model (so the echo log check applies), slowly.
  model = await startFakeOpenAI({
    responder: (body) => {
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      return { text: `[echo] turn ${users.length}: you said "${String(users.at(-1)?.content)}"`, delayMs: randomInt(5, 40) };
    },
  });
  await fsp.writeFile(
    path.join(box.sb.cwd, 'bots.yaml'),
    [`agents: { assistant: { model: fake-model, base_url: "${model.url}", api_key: fake-key-for-tests } }`, 'gateway:', '  allow_loopback_without_auth: true', '  session: { persist: true }', ''].join('\n'),
  );
});
afterEach(() => model.close());

describe('T31 embedded intake: bot chat and bot gateway killed with SIGKILL', () => {
  it(`bot chat --message: a message the host accepted is answered once by the next chat (${KILLS} kills)`, async () => {
    const acked: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const text = `c${k}`;
      const chat = startCli(box.sb, ['chat', '--session', 'chaos', '--message', text], { env: { LOG_LEVEL: 'debug' }, timeoutMs: 30_000 });
      if (Math.random() < 0.6) await chat.waitForStderr(/message accepted/, { timeoutMs: 15_000 }).catch(() => undefined);
      else await sleep(randomInt(0, 600));
      chat.proc.kill('SIGKILL');
      const done = await chat.exited();
      if (/message accepted/.test(done.stderr)) acked.push(text);
    }
    expect(acked.length).toBeGreaterThan(0);
    const last = await runCliJson<{ reply: string }>(box.sb, ['chat', '--session', 'chaos', '--message', 'final', '--json'], { timeoutMs: 30_000 });
    expect(last.reply).toMatch(/you said "final"/);

    const sessions = await readStore(box.sb.sessionsDir, { echo: true });
    expect(ackProblems([...acked, 'final'], sessions)).toEqual([]);
    // Recovered turns ran before the message that recovered them (I3).
    const texts = (sessions.get('chaos') ?? []).filter((e) => e.role === 'user').map((e) => e.content);
    expect(texts.at(-1)).toBe('final');
  }, FULL ? 1_800_000 : 60_000);

  it(`bot gateway: every message frame answered "accepted" is answered once after restarts (${KILLS} kills)`, async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/ws`;
    const start = async () => {
      const gw = startCli(box.sb, ['gateway', '--port', String(port)], { timeoutMs: 600_000 });
      await gw.waitForStderr(/web chat at http/, { timeoutMs: 20_000 });
      return gw;
    };
    const acked = new Set<string>();
    let n = 0;
    for (let k = 0; k < KILLS; k++) {
      const gw = await start();
      const client = await TestClient.open(url);
      await client.join({ session_id: 'chaos', since: 0 });
      const burst = randomInt(2, 6);
      for (let i = 0; i < burst; i++) {
        const id = `g${n++}`;
        client.send({ type: 'message', content: `text ${id}`, id });
      }
      const killAfterAck = Math.random() < 0.6;
      if (killAfterAck) await client.next((f) => f.type === 'accepted', { timeoutMs: 10_000 }).catch(() => undefined);
      else await sleep(randomInt(0, 300));
      gw.proc.kill('SIGKILL');
      await gw.exited();
      for (const f of client.frames) if (f.type === 'accepted') acked.add(`text ${String(f.id)}`);
      client.ws.terminate();
    }
    expect(acked.size).toBeGreaterThan(0);

    const gw = await start();
    const dir = path.join(box.sb.home, '.bothost', 'gateway-sessions');
    await waitFor('every accepted message answered', async () => ackProblems(acked, await readStore(dir)).length === 0, {
      timeoutMs: 20_000,
      explain: async () => `${ackProblems(acked, await readStore(dir)).join('\n')}\n${gw.stderr().slice(-2000)}`,
    });
    gw.proc.kill('SIGTERM');
    await gw.exited(20_000);
    expect(ackProblems(acked, await readStore(dir, { echo: true }))).toEqual([]);
  }, FULL ? 1_800_000 : 60_000);
});
