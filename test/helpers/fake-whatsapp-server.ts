/**
 * The fake WhatsApp (FakeWhatsApp, on baileys' own event buffer and message types) served to a
 * bot in another process: the bot's bots.yaml entry sets `socket_module` to
 * `fake-whatsapp-remote-socket.mjs` and `ws_url` to this server; each connection is one
 * FakeSocket here, its events forwarded to the bot and the bot's calls (send, presence, read
 * receipts, end) run on it. Tests drive `wa` exactly as for an in-process adapter.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BufferJSON } from 'baileys';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SocketOptions } from '../../adapters/whatsapp/socket.js';
import { disconnectError, FakeWhatsApp, type FakeSocket } from './fake-whatsapp-socket.js';

export const REMOTE_SOCKET_MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-whatsapp-remote-socket.mjs');

export interface FakeWhatsAppServer {
  readonly wa: FakeWhatsApp;
  /** The bot's `ws_url`. */
  readonly url: string;
  close(): Promise<void>;
}

const FORWARDED = ['connection.update', 'messages.upsert', 'creds.update'] as const;

export async function startFakeWhatsAppServer(wa = new FakeWhatsApp()): Promise<FakeWhatsAppServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws: WebSocket) => {
    let sock: FakeSocket | undefined;
    const send = (m: object) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m, BufferJSON.replacer));
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw), BufferJSON.reviver) as { t: string; me?: unknown; id?: number; method?: string; args?: unknown[] };
      if (m.t === 'hello') {
        sock = wa.factory({ auth: { creds: m.me ? { me: m.me } : {}, keys: {} } } as unknown as SocketOptions) as FakeSocket;
        for (const name of FORWARDED) {
          sock.ev.on(name, (data: unknown) => {
            const d = data as { lastDisconnect?: { error?: { message?: string; output?: { statusCode?: number } } } };
            const error = d.lastDisconnect?.error;
            send({ t: 'ev', name, data: error ? { ...d, lastDisconnect: { error: { message: error.message, statusCode: error.output?.statusCode } } } : data });
          });
        }
        return;
      }
      if (m.t !== 'call' || !sock) return;
      const target = sock;
      const args = m.method === 'end' ? [m.args?.[0] ? disconnectError((m.args[0] as { statusCode: number }).statusCode ?? 428) : undefined] : (m.args ?? []);
      Promise.resolve()
        .then(() => (target as unknown as Record<string, (...a: unknown[]) => unknown>)[m.method!]!(...args))
        .then(
          (value) => send({ t: 'ret', id: m.id, value: value ?? null }),
          (err: Error & { output?: { statusCode?: number } }) => send({ t: 'ret', id: m.id, error: { message: err.message, statusCode: err.output?.statusCode } }),
        );
    });
    ws.on('close', () => {
      // The bot's process went away: its socket is gone for WhatsApp too.
      if (sock && !sock.closed) sock.closed = true;
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    wa,
    url: `ws://127.0.0.1:${port}/fake-whatsapp`,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
