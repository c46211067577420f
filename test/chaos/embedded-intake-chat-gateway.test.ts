/**
 * T31 for the gateway's embedded entry point, with real processes and a slow fake model (so kills
 * land while turns wait or run): every `message` frame answered `accepted` survives a SIGKILL of
 * `bot gateway`. (`bot chat` runs its console turns without the intake: the person typing sees
 * the reply or the failure — test/cli/chat-intake.test.ts.)
 * CI runs a few kills; `CHAOS=full` (npm run chaos) a hundred.
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

describe('T31 embedded intake: bot gateway killed with SIGKILL', () => {
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
