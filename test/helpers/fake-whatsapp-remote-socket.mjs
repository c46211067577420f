// The child-process side of the fake WhatsApp (bots.yaml `socket_module`): a socket with the
// adapter's WhatsAppSocket shape whose events come from, and calls go to, a FakeWhatsApp running
// in the test process (test/helpers/fake-whatsapp-server.ts) over a WebSocket at `ws_url`. Its
// event emitter is baileys' own (makeEventBuffer), as on a real socket.
import { BufferJSON, makeEventBuffer } from 'baileys';
import WebSocket from 'ws';

const silent = { level: 'silent', child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const boom = (e) => Object.assign(new Error(e?.message ?? 'closed'), { isBoom: true, output: { statusCode: e?.statusCode, payload: e } });
const plainError = (e) => (e ? { message: e.message, statusCode: e.output?.statusCode } : undefined);

export default async function createSocket(options) {
  const ws = new WebSocket(options.wsUrl);
  const ev = makeEventBuffer(silent);
  const pending = new Map();
  let seq = 0;
  let open = false;
  let closed = false;
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const send = (m) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m, BufferJSON.replacer));
  const emitClose = (error) => {
    if (closed) return;
    closed = true;
    open = false;
    for (const { reject } of pending.values()) reject(boom({ message: 'Connection Closed', statusCode: 428 }));
    pending.clear();
    ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
    ws.close();
  };
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw), BufferJSON.reviver);
    if (m.t === 'ret') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(boom(m.error));
      else p?.resolve(m.value);
      return;
    }
    if (m.t !== 'ev') return;
    if (m.name === 'creds.update') Object.assign(options.auth.creds, m.data);
    if (m.name === 'connection.update' && m.data.connection === 'open') open = true;
    if (m.name === 'connection.update' && m.data.connection === 'close') return emitClose(m.data.lastDisconnect?.error ? boom(m.data.lastDisconnect.error) : undefined);
    ev.emit(m.name, m.data);
  });
  ws.on('close', () => emitClose(boom({ message: 'Connection Lost', statusCode: 408 })));
  ws.on('error', () => undefined);
  const call = (method, ...args) =>
    new Promise((resolve, reject) => {
      if (closed) return reject(boom({ message: 'Connection Closed', statusCode: 428 }));
      const id = ++seq;
      pending.set(id, { resolve, reject });
      send({ t: 'call', id, method, args });
    });
  send({ t: 'hello', me: options.auth.creds.me ?? null });
  return {
    ev,
    get user() {
      return open ? options.auth.creds.me : undefined;
    },
    sendMessage: (...args) => call('sendMessage', ...args),
    sendPresenceUpdate: (...args) => call('sendPresenceUpdate', ...args),
    readMessages: (...args) => call('readMessages', ...args),
    requestPairingCode: (...args) => call('requestPairingCode', ...args),
    logout: (...args) => call('logout', ...args),
    end(error) {
      if (closed) return;
      send({ t: 'call', id: ++seq, method: 'end', args: [plainError(error)] });
      // The fake answers with a close event; a server that is gone must not hold the process.
      setTimeout(() => emitClose(error), 2_000).unref();
    },
  };
}
