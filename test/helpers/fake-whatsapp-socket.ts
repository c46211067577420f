/**
 * A fake WhatsApp for the adapter's injectable socket factory, built on baileys' own event
 * buffer (`makeEventBuffer`, the emitter every real socket uses) and its message type
 * (`proto.WebMessageInfo`). It plays WhatsApp's side: users (by phone JID, by LID, or both via
 * `remoteJidAlt` / `participantAlt`) write in direct chats and groups, with mentions and replies;
 * the bot's sends, presence updates and read receipts are recorded; the socket can be closed
 * with any `DisconnectReason` status, and the next connection attempts can be scripted.
 *
 * @example
 * const wa = new FakeWhatsApp();
 * const adapter = createWhatsAppAdapter(config, host, { socketFactory: wa.factory, authStore });
 * await adapter.start(); await wa.connected();
 * wa.userSays({ from: '4915112345678', text: 'hi' });
 */
import { makeEventBuffer, proto, type AnyMessageContent, type MiscMessageGenerationOptions, type WAMessage, type WAMessageKey, type WAPresence } from 'baileys';
import type { SocketFactory, SocketOptions, WhatsAppSocket } from '../../adapters/whatsapp/socket.js';

const silent = { level: 'silent', child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** What baileys puts on `lastDisconnect.error`: a Boom with `output.statusCode`. */
export function disconnectError(statusCode: number, message = `closed with ${statusCode}`): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode, payload: { statusCode, message } } });
}

export interface SentMessage {
  socket: number;
  jid: string;
  text: string;
  id: string | undefined;
  quoted?: { id: string; participant: string | undefined; text: string | undefined };
  at: number;
}

export interface UserMessage {
  /** Sender: phone digits (`4915112345678`) or a JID (`…@s.whatsapp.net`, `…@lid`). */
  from: string;
  /** The sender's other addressing, as WhatsApp sends it in `remoteJidAlt` / `participantAlt`. */
  alt?: string;
  text?: string;
  /** Group JID, for group messages. */
  group?: string;
  /** JIDs @mentioned. */
  mentions?: string[];
  /** The message this one replies to: its id and author JID. */
  replyTo?: { id: string; participant: string };
  /** Other content instead of text (media, reactions, protocol messages). */
  message?: proto.IMessage;
  id?: string;
  fromMe?: boolean;
  stubType?: number;
  remoteJid?: string;
  type?: 'notify' | 'append';
}

const toJid = (s: string) => (s.includes('@') ? s : `${s}@s.whatsapp.net`);

export class FakeSocket implements WhatsAppSocket {
  readonly ev = makeEventBuffer(silent as never);
  user: WhatsAppSocket['user'];
  closed = false;

  constructor(
    readonly wa: FakeWhatsApp,
    readonly index: number,
    readonly options: SocketOptions,
  ) {}

  async sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined> {
    if (this.closed) throw disconnectError(428, 'Connection Closed');
    const failure = this.wa.sendFailures.shift();
    if (failure !== undefined) throw disconnectError(failure, `send failed with ${failure}`);
    const text = 'text' in content ? String(content.text) : '';
    const q = options?.quoted;
    this.wa.sent.push({
      socket: this.index,
      jid,
      text,
      id: options?.messageId,
      ...(q ? { quoted: { id: q.key.id!, participant: q.key.participant ?? undefined, text: q.message?.conversation ?? undefined } } : {}),
      at: Date.now(),
    });
    return proto.WebMessageInfo.fromObject({ key: { remoteJid: jid, fromMe: true, id: options?.messageId ?? `FAKE${this.wa.sent.length}` }, message: { conversation: text } }) as WAMessage;
  }

  async sendPresenceUpdate(type: WAPresence, toJid?: string): Promise<void> {
    this.wa.presence.push({ type, jid: toJid ?? '', at: Date.now() });
  }

  async readMessages(keys: WAMessageKey[]): Promise<void> {
    this.wa.reads.push(...keys.map((k) => k.id!));
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    this.wa.pairingPhones.push(phoneNumber);
    return 'ABCD1234';
  }

  async logout(): Promise<void> {
    this.wa.loggedOut++;
    this.end(disconnectError(401, 'Intentional Logout'));
  }

  end(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.wa.closes.push((error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode);
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
  }

  /** An unlinked device: WhatsApp shows QR codes until a phone scans one (`FakeWhatsApp.scan`). */
  showQr(n: number): void {
    this.ev.emit('connection.update', { connection: 'connecting' });
    this.ev.emit('connection.update', { qr: `2@FAKEREF${n},${Buffer.from('noise-key').toString('base64')},${Buffer.from('identity-key').toString('base64')},${Buffer.from('adv-secret').toString('base64')}` });
  }

  /** Opens as WhatsApp does after the handshake (creds `me` set by the login). */
  open(): void {
    // One socket per linked device: WhatsApp replaces an open one (440 on the old socket).
    for (const other of this.wa.sockets) if (other !== this && !other.closed && other.user) other.end(disconnectError(440, 'Stream Errored (conflict)'));
    const me = this.options.auth.creds.me;
    this.user = me ? { id: me.id, ...(me.lid ? { lid: me.lid } : {}) } : undefined;
    this.ev.emit('connection.update', { connection: 'connecting' });
    this.ev.emit('creds.update', { lastAccountSyncTimestamp: Date.now() } as never);
    this.ev.emit('connection.update', { connection: 'open' });
  }
}

export class FakeWhatsApp {
  readonly sockets: FakeSocket[] = [];
  readonly sent: SentMessage[] = [];
  readonly presence: Array<{ type: WAPresence; jid: string; at: number }> = [];
  readonly reads: string[] = [];
  /** Status codes the next connection attempts close with instead of opening (440, 401, 515 …). */
  readonly connectFailures: number[] = [];
  /** Status codes the next sends fail with. */
  readonly sendFailures: number[] = [];
  loggedOut = 0;
  /** The status code of every socket close, in order (undefined: closed by the bot without error). */
  readonly closes: Array<number | undefined> = [];
  readonly pairingPhones: string[] = [];
  private seq = 0;
  private qrs = 0;

  /** The bot's own identity (`creds.me` of the linked test device). */
  static readonly SELF = { id: '15550001111:7@s.whatsapp.net', lid: '99887766554433:7@lid', name: 'bot' } as const;

  readonly factory: SocketFactory = (options) => {
    const sock = new FakeSocket(this, this.sockets.length, options);
    this.sockets.push(sock);
    setImmediate(() => {
      const code = this.connectFailures.shift();
      if (code !== undefined) sock.end(disconnectError(code));
      else if (!options.auth.creds.me) sock.showQr(++this.qrs);
      else sock.open();
    });
    return sock;
  };

  /** The socket that is open now, if any. */
  get socket(): FakeSocket | undefined {
    const s = this.sockets.at(-1);
    return s && !s.closed && s.user ? s : undefined;
  }

  /** The socket showing QR codes (an unlinked device), if any. */
  get linking(): FakeSocket | undefined {
    const s = this.sockets.at(-1);
    return s && !s.closed && !s.options.auth.creds.me ? s : undefined;
  }

  /** WhatsApp rotates the QR code of the linking socket. */
  rotateQr(): void {
    this.linking?.showQr(++this.qrs);
  }

  /** The phone scans the QR (or typed the code): creds get `me`, then WhatsApp demands a restart (515). */
  scan(me: { id: string; lid?: string; name?: string } = FakeWhatsApp.SELF): void {
    const sock = this.linking;
    if (!sock) throw new Error('no fake WhatsApp socket is showing a QR code');
    sock.options.auth.creds.me = { ...me };
    sock.options.auth.creds.registered = true;
    sock.ev.emit('creds.update', { me: sock.options.auth.creds.me, registered: true });
    sock.end(disconnectError(515, 'Stream Errored (restart required)'));
  }

  /** Waits until a socket is open. */
  async connected(timeoutMs = 5_000): Promise<FakeSocket> {
    const deadline = Date.now() + timeoutMs;
    while (!this.socket) {
      if (Date.now() > deadline) throw new Error(`no fake WhatsApp socket opened within ${timeoutMs} ms (${this.sockets.length} attempts)`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.socket!;
  }

  /** Builds the `proto.WebMessageInfo` a user's message arrives as. */
  message(m: UserMessage): WAMessage {
    const id = m.id ?? `MSG${(++this.seq).toString().padStart(8, '0')}`;
    const from = toJid(m.from);
    const contextInfo = m.mentions || m.replyTo ? { ...(m.mentions ? { mentionedJid: m.mentions } : {}), ...(m.replyTo ? { stanzaId: m.replyTo.id, participant: m.replyTo.participant, quotedMessage: { conversation: 'earlier' } } : {}) } : undefined;
    const message = m.message ?? (contextInfo ? { extendedTextMessage: { text: m.text ?? '', contextInfo } } : { conversation: m.text ?? '' });
    const key: WAMessageKey = m.group
      ? { remoteJid: m.group, fromMe: m.fromMe ?? false, id, participant: from, ...(m.alt ? { participantAlt: toJid(m.alt) } : {}) }
      : { remoteJid: m.remoteJid ?? from, fromMe: m.fromMe ?? false, id, ...(m.alt ? { remoteJidAlt: toJid(m.alt) } : {}) };
    const info = proto.WebMessageInfo.fromObject({ key, message, messageTimestamp: Math.floor(Date.now() / 1000), pushName: 'Test User', ...(m.stubType ? { messageStubType: m.stubType, messageStubParameters: ['Bad MAC'] } : {}) }) as WAMessage;
    // fromObject keeps only proto fields; baileys' extra key fields ride along as on a real socket.
    Object.assign(info.key, key);
    return info;
  }

  /** A user writes to the bot; resolves the message as delivered (for `redeliver`). */
  userSays(m: UserMessage): WAMessage {
    const msg = this.message(m);
    this.deliver([msg], m.type ?? 'notify');
    return msg;
  }

  /** Delivers messages on the open socket (also a redelivery of ones sent before). */
  deliver(messages: WAMessage[], type: 'notify' | 'append' = 'notify'): void {
    const sock = this.socket;
    if (!sock) throw new Error('no open fake WhatsApp socket to deliver on');
    sock.ev.emit('messages.upsert', { messages, type });
  }

  /** Closes the open socket as WhatsApp would, with a `DisconnectReason` status. */
  disconnect(statusCode: number): void {
    const sock = this.socket;
    if (!sock) throw new Error('no open fake WhatsApp socket to close');
    sock.end(disconnectError(statusCode));
  }

  /** Texts the bot sent into `jid`. */
  textsTo(jid: string): string[] {
    return this.sent.filter((s) => s.jid === toJid(jid)).map((s) => s.text);
  }
}
