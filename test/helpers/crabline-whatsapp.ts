/**
 * A local WhatsApp Web server for end-to-end tests with the real baileys: `@openclaw/crabline`
 * completes baileys' Noise handshake on 127.0.0.1, serves the bootstrap / usync / prekey queries,
 * injects user messages (its admin endpoint) and decrypts what the bot sends to direct chats
 * (recorded as accepted sends). It needs a linked identity: `creds.me.id` = its `selfJid`.
 * Group outbound (sender-key encryption) is outside what it supports.
 */
import { startWhatsAppServer, type StartedWhatsAppServer } from '@openclaw/crabline';

export interface CrablineSend {
  to: string;
  text: string;
  id: string;
  at: number;
}

export interface CrablineWhatsApp {
  /** Give this to baileys as `waWebSocketUrl` (bots.yaml `ws_url`); carries an access token. */
  readonly wsUrl: string;
  readonly selfJid: string;
  /** Secrets in the manifest: none may appear in the bot's output. */
  readonly secrets: string[];
  /** Texts the bot sent that the server decrypted, oldest first. */
  readonly sent: CrablineSend[];
  /** A user writes to the bot (a direct chat unless `group`); resolves the message id. */
  userSays(from: string, text: string, options?: { group?: string; id?: string }): Promise<string>;
  sentTo(phoneDigits: string): CrablineSend[];
  close(): Promise<void>;
}

export async function startCrablineWhatsApp(recorderPath: string): Promise<CrablineWhatsApp> {
  const sent: CrablineSend[] = [];
  const server: StartedWhatsAppServer = await startWhatsAppServer({
    recorderPath,
    onEvent: (event) => {
      const e = event as { accepted?: boolean; method?: string; body?: { key?: { remoteJid?: string; id?: string }; message?: { conversation?: string } } };
      if (e.accepted && e.method === 'WEBSOCKET' && e.body?.key?.remoteJid && typeof e.body.message?.conversation === 'string') {
        sent.push({ to: e.body.key.remoteJid, text: e.body.message.conversation, id: e.body.key.id ?? '', at: Date.now() });
      }
    },
  });
  const m = server.manifest;
  let seq = 0;
  return {
    wsUrl: m.endpoints.baileysWebSocketUrl,
    selfJid: m.selfJid,
    secrets: [m.accessToken, m.adminToken],
    sent,
    async userSays(from, text, options = {}) {
      const sender = `${from.replace(/\D/g, '')}@s.whatsapp.net`;
      const id = options.id ?? `E2E${Date.now().toString(16).toUpperCase()}${(++seq).toString().padStart(4, '0')}`;
      const res = await fetch(m.endpoints.adminInboundUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-crabline-admin-token': m.adminToken },
        body: JSON.stringify({ chatJid: options.group ?? sender, senderJid: sender, text, messageId: id }),
      });
      if (!res.ok) throw new Error(`crabline refused the inbound message: ${res.status} ${await res.text()}`);
      return id;
    },
    sentTo: (digits) => sent.filter((s) => s.to.split('@')[0]!.split(':')[0] === digits),
    close: () => server.close(),
  };
}
