/**
 * T25 (CI size) with real processes: observers reconnect at random with `since` while a producer
 * keeps a session busy, and the `bot gateway` process is SIGKILLed and restarted on the same port.
 * I7: every observer receives every event exactly once, in order, with no gap. I1/I2: every
 * acknowledged message ends up as exactly one user entry followed by one reply.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import { startCli, useSandbox, type LiveCli } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const box = useSandbox();
const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;

describe('T25: resume with since across random reconnects and a killed gateway', () => {
  it('I7 for every observer, I1/I2 for the producer', async () => {
    const port = await freePort();
    const config = path.join(box.sb.cwd, 'bots.yaml');
    await fsp.writeFile(config, ['agents: { assistant: { model: echo } }', 'gateway:', '  allow_loopback_without_auth: true', '  limits: { messages_per_minute: 100000, burst: 1000 }', '  session: { persist: true }', ''].join('\n'));
    let gw: LiveCli = startCli(box.sb, ['gateway', '--port', String(port)], { timeoutMs: 120_000 });
    await gw.waitForStderr(READY, { timeoutMs: 15_000 });
    const url = `ws://127.0.0.1:${port}/ws`;
    const N = 40;
    let producing = true;

    // Producer: sends N messages in order; a message counts once the gateway acknowledged it.
    const acknowledged = new Set<string>();
    const producer = (async () => {
      for (let i = 0; i < N; ) {
        const id = `p${i}`;
        try {
          const c = await TestClient.open(url);
          await c.join({ session_id: 'chaos' });
          while (i < N && c.ws.readyState === c.ws.OPEN) {
            const id2 = `p${i}`;
            const from = c.frames.length;
            c.send({ type: 'message', content: `message ${i}`, id: id2 });
            await c.next((f) => f.type === 'accepted' && f.id === id2, { from, timeoutMs: 5_000 });
            acknowledged.add(id2);
            i++;
            await sleep(20 + Math.random() * 40);
          }
          c.close();
        } catch {
          void id; // the gateway is down or the socket died: retry the same id, never a new one
          await sleep(150);
        }
      }
      producing = false;
    })();

    // Observers: connect, join with since = highest cursor seen, read for a while, drop, repeat.
    const observe = async () => {
      const seen: number[] = [];
      let highest = 0;
      const session = async (ms: number) => {
        let c: TestClient | undefined;
        try {
          c = await TestClient.open(url);
          c.ws.on('message', (d) => {
            const f = JSON.parse(String(d));
            const cursor = f.type === 'replay' ? f.event.cursor : f.type === 'message' || f.type === 'response' ? f.cursor : undefined;
            if (cursor !== undefined) {
              seen.push(cursor);
              highest = Math.max(highest, cursor);
            }
          });
          c.send({ type: 'join', session_id: 'chaos', since: highest });
          await sleep(ms);
        } catch {
          await sleep(100);
        } finally {
          c?.ws.terminate();
        }
      };
      while (producing) await session(200 + Math.random() * 800);
      return { seen, finish: session };
    };
    const observers = [observe(), observe(), observe()];

    // Kill the gateway now and then, restart it on the same port.
    for (let k = 0; k < 2; k++) {
      await sleep(1_200);
      gw.proc.kill('SIGKILL');
      await gw.exited();
      gw = startCli(box.sb, ['gateway', '--port', String(port)], { timeoutMs: 120_000 });
      await gw.waitForStderr(READY, { timeoutMs: 15_000 });
    }
    await producer;

    // Wait until every acknowledged message has its reply in the log.
    const probe = await TestClient.open(url);
    await probe.join({ session_id: 'chaos', since: 0 });
    let last = 0;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      last = Math.max(0, ...probe.cursors());
      if (last >= 2 * N) break;
      await sleep(100);
    }
    expect(last).toBe(2 * N);
    const events = probe.frames.flatMap((f) => (f.type === 'replay' ? [f.event] : f.type === 'message' || f.type === 'response' ? [f] : []));
    const users = events.filter((e) => e.type === 'message').map((e) => e.id);
    expect(users).toEqual(Array.from({ length: N }, (_, i) => `p${i}`)); // I1, I2, I3
    expect(events.filter((e) => e.type === 'response').length).toBe(N);
    expect(acknowledged.size).toBe(N);

    for (const o of await Promise.all(observers)) {
      await o.finish(1_500); // one last resume to catch up
      expect(o.seen).toEqual(Array.from({ length: 2 * N }, (_, i) => i + 1)); // I7: exactly once, in order, no gap
    }
    gw.proc.kill('SIGTERM');
    expect((await gw.exited(10_000)).code).toBe(0);
  }, 120_000);
});
