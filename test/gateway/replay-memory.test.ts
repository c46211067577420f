/**
 * T35 non-reading clients during replay: many clients join a large session with `since: 0` and
 * then stop reading (their TCP sockets are paused). The gateway (a real `bot gateway` process)
 * must check max_buffered_bytes per frame while replaying, so its memory stays bounded by about
 * the limit per client, keep serving a reading client, and cut the stalled ones off.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { webSessionKey } from '../../src/sessions/web-sessions.js';
import { startCli, useSandbox } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';

const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;
const CLIENTS = 40;
const ENTRIES = 1000;
const CHARS = 16_000;
const BUFFERED = 256 * 1024;

async function rssMb(pid: number): Promise<number> {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** A client that sends its join and then never reads again (the socket is paused). */
function stalledClient(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', () => undefined);
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'join', session_id: 'big', since: 0 }), () => {
        (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        resolve(ws);
      });
    });
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
}

describe('replay to clients that stop reading', () => {
  const box = useSandbox();
  it(`${CLIENTS} stalled clients on a ${(ENTRIES * CHARS) / 1e6} MB session: gateway RSS stays bounded, others are served`, async () => {
    const gwDir = path.join(box.sb.root, 'gw');
    const store = new FileSessionStore({ dir: gwDir, maxMessages: ENTRIES });
    const key = webSessionKey('big');
    for (let i = 0; i < ENTRIES; i += 100) {
      await store.commitTurn(key, { entries: Array.from({ length: 100 }, (_, k) => ({ role: (i + k) % 2 ? 'assistant' : 'user', content: `${i + k} ${'x'.repeat(CHARS)}` }) as const) });
    }
    await store.updateMetadata(key, { 'gw.owner': 'local', 'gw.agent': 'assistant', 'gw.session_id': 'big', 'gw.seen_at': Date.now() });
    await store.close();
    const config = path.join(box.sb.root, 'bots.yaml');
    await fsp.writeFile(config, `
agents: { assistant: { model: echo } }
store: { backend: file, path: "${path.join(box.sb.root, 'sessions')}" }
gateway:
  allow_loopback_without_auth: true
  session: { persist: true, persist_path: "${gwDir}", max_messages: ${ENTRIES} }
  limits: { max_buffered_bytes: ${BUFFERED} }
`);
    const gw = startCli(box.sb, ['--config', config, 'gateway', '--port', '0'], { timeoutMs: 120_000 });
    const port = Number((await gw.waitForStderr(READY, { timeoutMs: 20_000 }))[1]);
    const url = `ws://127.0.0.1:${port}/`;
    const pid = gw.proc.pid!;
    // One full replay by a reading client first, so caches and code are warm in the baseline.
    const warm = await TestClient.open(url);
    await warm.join({ session_id: 'big', since: 0 });
    await warm.next((f) => f.type === 'replay' && f.event.cursor === ENTRIES, { timeoutMs: 30_000 });
    warm.close();
    await new Promise((r) => setTimeout(r, 500));
    const baseline = await rssMb(pid);

    const stalled = await Promise.all(Array.from({ length: CLIENTS }, () => stalledClient(url)));
    let peak = baseline;
    const started = Date.now();
    while (Date.now() - started < 6_000) {
      peak = Math.max(peak, await rssMb(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    // A reading client is still served while the stalled ones sit there.
    const reader = await TestClient.open(url);
    expect(await reader.join({ session_id: 'fresh' })).toMatchObject({ type: 'joined' });
    expect((await reader.ask('hello', 'r1', { timeoutMs: 10_000 })).content).toContain('turn 1');
    peak = Math.max(peak, await rssMb(pid));
    // Bounded: about max_buffered_bytes (1 MiB) and one page of entries per stalled client.
    expect(peak - baseline, `baseline ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`).toBeLessThan(CLIENTS * 4);
    for (const ws of stalled) ws.terminate();
    gw.proc.kill('SIGTERM');
    await gw.exited(15_000);
  }, 120_000);
});
