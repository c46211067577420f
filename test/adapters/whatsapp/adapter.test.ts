/**
 * The WhatsApp adapter against the fake socket (baileys' own event buffer and message types):
 * inbound normalisation and identity through the adapter, reply sends (pacing, quoting,
 * deterministic ids, presence), a message the queue refused retried until taken (T21), and the
 * connection policy per DisconnectReason (T38: 440 stops, 401 unlinks, 515 reconnects, backoff).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWhatsAppAdapter } from '../../../adapters/whatsapp/adapter.js';
import { FileKeyValue } from '../../../adapters/whatsapp/auth-state/file-key-value.js';
import { messageIdFor } from '../../../adapters/whatsapp/outbound.js';
import type { PlatformAdapter } from '../../../src/core/adapter.js';
import { FakeWhatsApp } from '../../helpers/fake-whatsapp-socket.js';
import { TempDirs } from '../../helpers/temp-dir.js';
import { waitFor } from '../../helpers/wait-for.js';
import { writeLinkedAuthDir } from '../../helpers/whatsapp-auth.js';
import { literalHost, whatsappConfig, type LiteralHost } from './harness.js';

const temps = new TempDirs();
const running: PlatformAdapter[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
  await temps.removeAll();
});

const ALICE = '4915112345678';
const ALICE_LID = '201234567890123';
const SELF = FakeWhatsApp.SELF;

async function startBot(options: { extra?: Record<string, unknown>; wa?: FakeWhatsApp; dir?: string; t?: LiteralHost; stopGraceMs?: number } = {}) {
  const dir = options.dir ?? (await temps.make('bothost-wa-'));
  if (!options.dir) await writeLinkedAuthDir(dir, SELF);
  const wa = options.wa ?? new FakeWhatsApp();
  const t = options.t ?? literalHost();
  const config = whatsappConfig({ auth_dir: dir, ...options.extra });
  const adapter = createWhatsAppAdapter(config, t.host, { socketFactory: wa.factory, replacedGraceMs: 50, stopGraceMs: options.stopGraceMs ?? 50 });
  running.push(adapter);
  await adapter.start();
  await wa.connected();
  return { adapter, wa, t, dir, store: new FileKeyValue(dir) };
}

describe('inbound', () => {
  it('turns a direct message into one InboundMessage keyed by phone digits, and marks it read after it was enqueued', async () => {
    const { wa, t, adapter } = await startBot();
    const msg = wa.userSays({ from: ALICE, text: 'hello' });
    await waitFor('the message to be ingested', () => t.ingested.length === 1);
    const m = t.ingested[0]!;
    expect(m).toMatchObject({ platform: 'whatsapp', botId: 'wa-test', userId: ALICE, chatId: ALICE, isDirect: true, mentionsBot: false, text: 'hello', messageId: `${ALICE}:${msg.key.id}` });
    await waitFor('the read receipt', () => wa.reads.includes(msg.key.id!));
    expect(adapter.account).toBe('+15550001111');
    expect(t.routes.open).toBe(1);
  });

  it('gives the same user id whether the sender writes by phone JID or by LID, and remembers the LID across restarts', async () => {
    const first = await startBot();
    first.wa.userSays({ from: `${ALICE_LID}@lid`, alt: ALICE, text: 'via lid with alt' });
    await waitFor('the first message', () => first.t.ingested.length === 1);
    expect(first.t.ingested[0]!.userId).toBe(ALICE);
    // The pair is persisted in baileys' own lid-mapping layout.
    expect(JSON.parse(await readFile(path.join(first.dir, `lid-mapping-${ALICE_LID}_reverse.json`), 'utf8'))).toBe(ALICE);
    await first.adapter.stop();

    const again = await startBot({ dir: first.dir });
    again.wa.userSays({ from: `${ALICE_LID}@lid`, text: 'lid only, after a restart' });
    again.wa.userSays({ from: `${ALICE}@s.whatsapp.net`, text: 'by phone' });
    await waitFor('both messages', () => again.t.ingested.length === 2);
    expect(again.t.ingested.map((m) => m.userId)).toEqual([ALICE, ALICE]);
  });

  it('keys a sender that cannot be resolved to a phone number by LID', async () => {
    const { wa, t } = await startBot();
    wa.userSays({ from: '777000111222333@lid', text: 'who am I' });
    await waitFor('the message', () => t.ingested.length === 1);
    expect(t.ingested[0]!.userId).toBe('lid:777000111222333');
  });

  it('ignores own messages, status broadcasts, newsletters, reactions, protocol and stub messages and non-notify upserts; media and voice notes arrive as attachments', async () => {
    const { wa, t } = await startBot();
    wa.userSays({ from: ALICE, text: 'mine', fromMe: true });
    wa.userSays({ from: ALICE, remoteJid: 'status@broadcast', text: 'status' });
    wa.userSays({ from: ALICE, remoteJid: '1203630000@newsletter', text: 'channel post' });
    wa.userSays({ from: ALICE, message: { reactionMessage: { text: '👍', key: { id: 'X' } } } });
    wa.userSays({ from: ALICE, message: { protocolMessage: { type: 0 } } });
    wa.userSays({ from: ALICE, text: 'history', type: 'append' });
    wa.userSays({ from: ALICE, message: { audioMessage: { ptt: true, mimetype: 'audio/ogg; codecs=opus' } } });
    wa.userSays({ from: ALICE, message: { imageMessage: { caption: 'look', mimetype: 'image/jpeg' } } });
    wa.userSays({ from: ALICE, text: 'last' });
    await waitFor('the three real messages', () => t.ingested.length === 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.ingested.map((m) => [m.text, m.attachments?.map((a) => a.kind)])).toEqual([
      ['', ['voice']],
      ['look', ['photo']],
      ['last', undefined],
    ]);
  });

  it('logs a flood of decrypt failures once per chat per minute and keeps handling messages', async () => {
    const { wa, t } = await startBot();
    for (let i = 0; i < 50; i++) wa.userSays({ from: ALICE, stubType: 2, text: '' });
    for (let i = 0; i < 20; i++) wa.userSays({ from: '4917000000001', stubType: 2, text: '' });
    wa.userSays({ from: ALICE, text: 'after the flood' });
    await waitFor('the good message', () => t.ingested.length === 1);
    const decryptLogs = t.logs.filter((l) => /could not be decrypted/.test(l.msg ?? ''));
    expect(decryptLogs).toHaveLength(2);
    expect(wa.socket).toBeDefined();
  });

  it('retries a message the queue could not take (WhatsApp does not redeliver) and sends the read receipt only once it was taken', async () => {
    const t = literalHost();
    let refusals = 3;
    t.outcome = () => (refusals-- > 0 ? 'retry' : 'enqueued');
    const { wa } = await startBot({ t });
    const msg = wa.userSays({ from: ALICE, text: 'keep me' });
    await new Promise((r) => setTimeout(r, 100));
    expect(wa.reads).not.toContain(msg.key.id);
    await waitFor('the message to be taken', () => t.ingested.length === 1, { timeoutMs: 10_000 });
    await waitFor('the read receipt', () => wa.reads.includes(msg.key.id!));
  });

  it('keeps one chat\'s messages in order even when the first takes longer', async () => {
    const t = literalHost();
    t.outcome = async (m) => {
      if (m.text === 'one') await new Promise((r) => setTimeout(r, 100));
      return 'enqueued' as const;
    };
    const { wa } = await startBot({ t });
    wa.userSays({ from: ALICE, text: 'one' });
    wa.userSays({ from: ALICE, text: 'two' });
    await waitFor('both', () => t.ingested.length === 2);
    expect(t.ingested.map((m) => m.text)).toEqual(['one', 'two']);
  });
});

describe('groups', () => {
  const GROUP = '120363041234567890@g.us';

  it('reports the participant as the user, mentions of the bot by phone JID or LID, and replies to the bot', async () => {
    const { wa, t } = await startBot();
    wa.userSays({ group: GROUP, from: ALICE, text: 'no mention' });
    wa.userSays({ group: GROUP, from: ALICE, text: '@15550001111 by phone', mentions: ['15550001111@s.whatsapp.net'] });
    wa.userSays({ group: GROUP, from: `${ALICE_LID}@lid`, alt: ALICE, text: '@99887766554433 by lid', mentions: ['99887766554433@lid'] });
    wa.userSays({ group: GROUP, from: ALICE, text: 'a reply', replyTo: { id: 'BOTMSG1', participant: SELF.id } });
    wa.userSays({ group: GROUP, from: ALICE, text: 'a reply to someone else', replyTo: { id: 'OTHER1', participant: '4917000000001@s.whatsapp.net' } });
    await waitFor('five messages', () => t.ingested.length === 5);
    expect(t.ingested.map((m) => [m.userId, m.chatId, m.isDirect, m.mentionsBot, m.text, m.threadId])).toEqual([
      [ALICE, GROUP, false, false, 'no mention', ALICE],
      [ALICE, GROUP, false, true, 'by phone', ALICE],
      [ALICE, GROUP, false, true, 'by lid', ALICE],
      [ALICE, GROUP, false, true, 'a reply', ALICE],
      [ALICE, GROUP, false, false, 'a reply to someone else', ALICE],
    ]);
    expect(t.ingested[3]!.replyTo).toEqual({ messageId: `${GROUP}:BOTMSG1`, isBot: true });
  });

  it('answers only in allowed_groups when they are listed', async () => {
    const { wa, t } = await startBot({ extra: { allowed_groups: ['120363000000000001'] } });
    wa.userSays({ group: GROUP, from: ALICE, text: 'not allowed here' });
    wa.userSays({ group: '120363000000000001@g.us', from: ALICE, text: 'allowed' });
    await waitFor('one message', () => t.ingested.length === 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.ingested.map((m) => m.text)).toEqual(['allowed']);
  });

  it('quotes the question in the first chunk of a group reply only', async () => {
    const { wa, t, adapter } = await startBot();
    const q = wa.userSays({ group: GROUP, from: ALICE, text: '@15550001111 question', mentions: ['15550001111@s.whatsapp.net'] });
    await waitFor('the message', () => t.ingested.length === 1);
    const address = t.ingested[0]!.address!;
    await adapter.outbound.send(address, { text: 'part 1', plain: 'part 1', formatted: true }, { idempotencyKey: 'k|1|0', index: 0 });
    await adapter.outbound.send(address, { text: 'part 2', plain: 'part 2', formatted: true }, { idempotencyKey: 'k|1|1', index: 1 });
    expect(wa.sent.map((s) => [s.jid, s.text, s.quoted?.id, s.quoted?.participant])).toEqual([
      [GROUP, 'part 1', q.key.id, `${ALICE}@s.whatsapp.net`],
      [GROUP, 'part 2', undefined, undefined],
    ]);
  });
});

describe('outbound', () => {
  it('paces sends per chat, not across chats, and derives each message id from the idempotency key', async () => {
    const { wa, adapter } = await startBot({ extra: { send_interval_ms: 150 } });
    const a = JSON.stringify({ c: `${ALICE}@s.whatsapp.net` });
    const b = JSON.stringify({ c: '4917000000001@s.whatsapp.net' });
    const chunk = (text: string) => ({ text, plain: text, formatted: true });
    await Promise.all([
      adapter.outbound.send(a, chunk('a1'), { idempotencyKey: 'a|1|0', index: 0 }),
      adapter.outbound.send(a, chunk('a2'), { idempotencyKey: 'a|1|1', index: 1 }),
      adapter.outbound.send(a, chunk('a3'), { idempotencyKey: 'a|1|2', index: 2 }),
      adapter.outbound.send(b, chunk('b1'), { idempotencyKey: 'b|1|0', index: 0 }),
    ]);
    const at = (text: string) => wa.sent.find((s) => s.text === text)!.at;
    expect(at('a2') - at('a1')).toBeGreaterThanOrEqual(140);
    expect(at('a3') - at('a2')).toBeGreaterThanOrEqual(140);
    expect(at('b1') - at('a1')).toBeLessThan(100);
    expect(wa.sent.find((s) => s.text === 'a1')!.id).toBe(messageIdFor('a|1|0'));
    expect(messageIdFor('a|1|0')).toMatch(/^3EB0[0-9A-F]{18}$/);
  });

  it('shows composing while the agent works and paused after', async () => {
    const { wa, adapter } = await startBot();
    const a = JSON.stringify({ c: `${ALICE}@s.whatsapp.net` });
    await adapter.outbound.typing!(a);
    await adapter.outbound.idle!(a);
    expect(wa.presence.map(({ type, jid }) => ({ type, jid }))).toEqual([
      { type: 'composing', jid: `${ALICE}@s.whatsapp.net` },
      { type: 'paused', jid: `${ALICE}@s.whatsapp.net` },
    ]);
  });

  it('throws a retryable error while no socket is open, and drops a chunk WhatsApp refuses for good', async () => {
    const { wa, adapter, t } = await startBot();
    const a = JSON.stringify({ c: `${ALICE}@s.whatsapp.net` });
    wa.sendFailures.push(403);
    await expect(adapter.outbound.send(a, { text: 'x', plain: 'x', formatted: true }, { idempotencyKey: 'x|0', index: 0 })).resolves.toBeUndefined();
    expect(t.logs.some((l) => l.level === 'warn' && /dropped/.test(l.msg ?? ''))).toBe(true);
    wa.sendFailures.push(500);
    await expect(adapter.outbound.send(a, { text: 'y', plain: 'y', formatted: true }, { idempotencyKey: 'y|0', index: 0 })).rejects.toMatchObject({ code: 'WHATSAPP_SEND_FAILED' });
    await adapter.stop();
    await expect(adapter.outbound.send(a, { text: 'z', plain: 'z', formatted: true }, { idempotencyKey: 'z|0', index: 0 })).rejects.toMatchObject({ code: 'WHATSAPP_NOT_CONNECTED' });
  });
});

describe('connection policy', () => {
  it('515: flushes credentials and reconnects at once', async () => {
    const { wa, t } = await startBot({ t: literalHost({ backoffMs: { initial: 5_000, max: 5_000 } }) });
    wa.disconnect(515);
    await waitFor('a second socket', () => wa.sockets.length === 2 && wa.socket !== undefined, { timeoutMs: 1_000 });
    expect(t.fatals).toEqual([]);
    expect(t.routes).toEqual({ open: 1, opened: 2 });
  });

  it('428 / 408 / 503 / 500: reconnects with a growing backoff, never gives up', async () => {
    const { wa, t } = await startBot();
    wa.connectFailures.push(408, 503, 500);
    wa.disconnect(428);
    await waitFor('a socket open again after four failures', () => wa.sockets.length === 5 && wa.socket !== undefined, { timeoutMs: 5_000 });
    expect(t.fatals).toEqual([]);
    const warnings = t.logs.filter((l) => l.msg === 'connection failed; reconnecting').map((l) => (l.obj as { retryInMs: number }).retryInMs);
    expect(warnings).toEqual([20, 40, 80, 160]);
  });

  it('440: stops this process\'s socket, says another process or device took over, and does not reconnect', async () => {
    const { wa, t } = await startBot();
    wa.disconnect(440);
    await waitFor('the fatal stop', () => t.fatals.length === 1);
    expect(t.fatals[0]).toMatchObject({ code: 'WHATSAPP_CONNECTION_REPLACED' });
    expect(t.fatals[0]!.message).toMatch(/another process or device/);
    await new Promise((r) => setTimeout(r, 300));
    expect(wa.sockets).toHaveLength(1);
    expect(t.routes.open).toBe(0);
  });

  it('401: wipes the auth state, stops and asks for login', async () => {
    const { wa, t, dir } = await startBot();
    wa.userSays({ from: `${ALICE_LID}@lid`, alt: ALICE, text: 'leaves a lid mapping' });
    await waitFor('the message', () => t.ingested.length === 1);
    wa.disconnect(401);
    await waitFor('the fatal stop', () => t.fatals.length === 1);
    expect(t.fatals[0]).toMatchObject({ code: 'WHATSAPP_LOGGED_OUT' });
    expect(t.fatals[0]!.message).toMatch(/npx bot whatsapp login/);
    expect(existsSync(path.join(dir, 'creds.json'))).toBe(false);
    expect(existsSync(path.join(dir, `lid-mapping-${ALICE_LID}_reverse.json`))).toBe(false);
    expect(wa.sockets).toHaveLength(1);
  });

  it('refuses to start an unlinked bot and says how to link it', async () => {
    const dir = await temps.make('bothost-wa-');
    const t = literalHost();
    const adapter = createWhatsAppAdapter(whatsappConfig({ auth_dir: dir }), t.host, { socketFactory: new FakeWhatsApp().factory });
    running.push(adapter);
    await expect(adapter.start()).rejects.toMatchObject({ code: 'WHATSAPP_NOT_LINKED', message: expect.stringContaining('not linked: run `npx bot whatsapp login --bot wa-test`') });
  });

  it('stop stops receiving at once but keeps the socket until the replies owed went out', async () => {
    const { adapter, wa, t } = await startBot({ stopGraceMs: 10_000 });
    wa.userSays({ from: ALICE, text: 'answer me before you go' });
    await waitFor('the message', () => t.ingested.length === 1);
    const address = t.ingested[0]!.address!;
    const stopping = adapter.stop();
    wa.userSays({ from: ALICE, text: 'too late' });
    // The host's turn finishes after stop began: its reply still goes out on the open socket.
    await adapter.outbound.send(address, { text: 'the answer', plain: 'the answer', formatted: true }, { idempotencyKey: 'k|0', index: 0 });
    await adapter.outbound.idle!(address);
    await stopping;
    expect(wa.textsTo(ALICE)).toEqual(['the answer']);
    expect(t.ingested).toHaveLength(1);
    expect(wa.sockets[0]!.closed).toBe(true);
  });

  it('start and stop are idempotent; stop closes the socket and the delivery route', async () => {
    const { adapter, wa, t } = await startBot();
    await adapter.start();
    await Promise.all([adapter.stop(), adapter.stop()]);
    expect(wa.sockets).toHaveLength(1);
    expect(wa.sockets[0]!.closed).toBe(true);
    expect(t.routes.open).toBe(0);
    expect(t.fatals).toEqual([]);
  });
});
