/**
 * The adapter conformance suite's view of WhatsApp: the fake WhatsApp (baileys' own event
 * buffer and message types) served to the spawned `bot whatsapp` through `socket_module` +
 * `ws_url`, a linked identity in a temporary `auth_dir`. WhatsApp has no acknowledgement the bot
 * controls except the read receipt, sent once a message was accepted: that is `acked`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WAMessage } from 'baileys';
import type { FixtureEvent, PlatformFixture, PostedMessage } from '../contract/platform-fixture.js';
import { startFakeWhatsAppServer, REMOTE_SOCKET_MODULE, type FakeWhatsAppServer } from './fake-whatsapp-server.js';
import { FakeWhatsApp } from './fake-whatsapp-socket.js';
import { writeLinkedAuthDir } from './whatsapp-auth.js';

interface WhatsAppEvent extends FixtureEvent {
  message: WAMessage;
}

const GROUP = '120363041234567890@g.us';
const SELF_PN = FakeWhatsApp.SELF.id.replace(/:\d+@/, '@');

export function whatsappFixture(): PlatformFixture {
  let server: FakeWhatsAppServer | undefined;
  let authDir: string | undefined;
  const fake = () => {
    if (!server) throw new Error('the fake WhatsApp is not started');
    return server.wa;
  };
  const event = (message: WAMessage, conversation: string, chatId: string): WhatsAppEvent => ({ message, conversation, messageId: `${chatId}:${message.key.id}` });
  return {
    platform: 'whatsapp',
    ready: /whatsapp bot \+15550001111 running/,
    async start() {
      server = await startFakeWhatsAppServer();
      authDir = await mkdtemp(path.join(os.tmpdir(), 'bothost-wa-fixture-'));
      await writeLinkedAuthDir(authDir, FakeWhatsApp.SELF);
    },
    async close() {
      await server?.close();
      if (authDir) await rm(authDir, { recursive: true, force: true });
      server = undefined;
    },
    entry: () => ({ auth_dir: authDir, ws_url: server!.url, socket_module: REMOTE_SOCKET_MODULE, send_interval_ms: 0, typing_interval_ms: 300, stop_grace_ms: 10_000 }),
    env: () => ({}),
    // The linked device's keys live in files, not in the entry or the environment.
    secrets: () => [],
    user: (n) => `49151000000${n.toString().padStart(2, '0')}`,
    async direct(user, text) {
      const wa = fake();
      await wa.connected(15_000);
      return event(wa.userSays({ from: user, text }), `${user}@s.whatsapp.net`, user);
    },
    async group(user, text, { mention }) {
      const wa = fake();
      await wa.connected(15_000);
      const msg = mention ? wa.userSays({ group: GROUP, from: user, text: `@${SELF_PN.split('@')[0]} ${text}`, mentions: [SELF_PN] }) : wa.userSays({ group: GROUP, from: user, text });
      return event(msg, GROUP, GROUP);
    },
    async redeliver(e) {
      const wa = fake();
      await wa.connected(15_000);
      wa.deliver([(e as WhatsAppEvent).message]);
    },
    acked: (e) => fake().reads.includes((e as WhatsAppEvent).message.key.id!),
    posted(e): PostedMessage[] {
      return fake()
        .sent.filter((s) => s.jid === e.conversation)
        .map((s) => ({ text: s.text, postedAt: s.at, editedAt: [] }));
    },
    typing: (e) => fake().presence.filter((p) => p.type === 'composing' && p.jid === e.conversation).map((p) => p.at),
    wellFormed: (text) => (text.match(/```/g) ?? []).length % 2 === 0,
    length: (text) => text.length,
  };
}
