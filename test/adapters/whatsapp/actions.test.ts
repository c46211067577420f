/**
 * `bot whatsapp login / logout / import-auth` against the fake WhatsApp: QR codes drawn as they
 * rotate, the pairing code, the 515 restart after pairing (credentials flushed before the
 * reconnect — the next socket reads them back from the store; T38), expiry, "linked as +…"; logout
 * wipes; import-auth takes a folder written by baileys' own useMultiFileAuthState.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { useMultiFileAuthState } from 'baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { runImportAuth, runLogin, runLogout, type ActionContext } from '../../../adapters/whatsapp/actions.js';
import { isLinked } from '../../../adapters/whatsapp/auth-state/auth-state.js';
import { FileKeyValue } from '../../../adapters/whatsapp/auth-state/file-key-value.js';
import { redisKeyValue } from '../../../src/sessions/redis-key-value.js';
import { FakeWhatsApp } from '../../helpers/fake-whatsapp-socket.js';
import { openRedis } from '../../helpers/redis-fixtures.js';
import { TempDirs } from '../../helpers/temp-dir.js';
import { waitFor } from '../../helpers/wait-for.js';
import { writeLinkedAuthDir } from '../../helpers/whatsapp-auth.js';
import { whatsappConfig } from './harness.js';

const temps = new TempDirs();
afterEach(() => temps.removeAll());

function context(options: Record<string, unknown> = {}, args: string[] = []): ActionContext & { lines: string[] } {
  const lines: string[] = [];
  const noop = () => undefined;
  return { args, options, lines, say: (l) => void lines.push(l), logger: { debug: noop, info: noop, warn: noop, error: noop } };
}

describe('login', () => {
  it('draws each QR code WhatsApp rotates, survives the 515 restart after the scan, and ends with "linked as"', async () => {
    const dir = await temps.make('bothost-wa-login-');
    const wa = new FakeWhatsApp();
    const ctx = context();
    const done = runLogin(whatsappConfig({ auth_dir: dir }), ctx, { socketFactory: wa.factory, ansi: false });
    await waitFor('the first QR code', () => ctx.lines.some((l) => l.includes('Scan this QR code')));
    wa.rotateQr();
    await waitFor('the rotated QR code', () => ctx.lines.some((l) => l.includes('rotated')));
    wa.scan();
    await expect(done).resolves.toBe(0);
    expect(ctx.lines.at(-1)).toMatch(/^linked as \+15550001111 /);
    const qrBlocks = ctx.lines.filter((l) => l.split('\n').length > 10);
    expect(qrBlocks).toHaveLength(2);
    expect(qrBlocks[0]).not.toBe(qrBlocks[1]);
    // Two sockets: the QR one, then the one after 515, which read the flushed creds back.
    expect(wa.sockets).toHaveLength(2);
    expect(JSON.parse(await readFile(path.join(dir, 'creds.json'), 'utf8')).me.id).toBe(FakeWhatsApp.SELF.id);
  });

  it('--pairing-code prints the 8-character code for the phone to type', async () => {
    const dir = await temps.make('bothost-wa-login-');
    const wa = new FakeWhatsApp();
    const ctx = context({ pairingCode: '+49 151 1234 5678' });
    const done = runLogin(whatsappConfig({ auth_dir: dir }), ctx, { socketFactory: wa.factory });
    await waitFor('the pairing code', () => ctx.lines.some((l) => l.startsWith('Pairing code: ABCD-1234')));
    expect(wa.pairingPhones).toEqual(['4915112345678']);
    wa.scan();
    await expect(done).resolves.toBe(0);
    expect(ctx.lines.some((l) => l.includes('QR'))).toBe(false);
  });

  it('says clearly when the QR code expired', async () => {
    const dir = await temps.make('bothost-wa-login-');
    const wa = new FakeWhatsApp();
    const ctx = context();
    const done = runLogin(whatsappConfig({ auth_dir: dir }), ctx, { socketFactory: wa.factory, ansi: false });
    await waitFor('the QR code', () => wa.linking !== undefined);
    wa.linking!.end(Object.assign(new Error('QR refs attempts ended'), { output: { statusCode: 408 } }));
    await expect(done).resolves.toBe(1);
    expect(ctx.lines.at(-1)).toMatch(/QR code expired/);
    expect(await isLinked(new FileKeyValue(dir))).toBe(false);
  });

  it('says when the pairing code was not typed in time', async () => {
    const dir = await temps.make('bothost-wa-login-');
    const wa = new FakeWhatsApp();
    const ctx = context({ pairingCode: '+4915112345678' });
    await expect(runLogin(whatsappConfig({ auth_dir: dir }), ctx, { socketFactory: wa.factory, timeoutMs: 200 })).resolves.toBe(1);
    expect(ctx.lines.at(-1)).toMatch(/pairing code expired/);
  });

  it('rejects a pairing number that is not E.164, and does nothing on an already linked bot', async () => {
    const dir = await temps.make('bothost-wa-login-');
    const bad = context({ pairingCode: 'my phone' });
    await expect(runLogin(whatsappConfig({ auth_dir: dir }), bad, { socketFactory: new FakeWhatsApp().factory })).resolves.toBe(2);
    await writeLinkedAuthDir(dir, FakeWhatsApp.SELF);
    const wa = new FakeWhatsApp();
    const linked = context();
    await expect(runLogin(whatsappConfig({ auth_dir: dir }), linked, { socketFactory: wa.factory })).resolves.toBe(0);
    expect(linked.lines[0]).toMatch(/already linked as \+15550001111/);
    expect(wa.sockets).toHaveLength(0);
  });
});

describe('logout', () => {
  it('unlinks on WhatsApp\'s side and wipes the auth state', async () => {
    const dir = await temps.make('bothost-wa-logout-');
    await writeLinkedAuthDir(dir, FakeWhatsApp.SELF);
    const wa = new FakeWhatsApp();
    const ctx = context();
    await expect(runLogout(whatsappConfig({ auth_dir: dir }), ctx, { socketFactory: wa.factory })).resolves.toBe(0);
    expect(wa.loggedOut).toBe(1);
    expect(existsSync(path.join(dir, 'creds.json'))).toBe(false);
    expect(ctx.lines[0]).toMatch(/logged out/);
  });
});

describe('import-auth', () => {
  async function baileysFolder(): Promise<string> {
    // A folder as another tool leaves it: written by baileys' own helper.
    const src = await temps.make('bothost-wa-src-');
    const { state, saveCreds } = await useMultiFileAuthState(src);
    state.creds.me = { id: '4915199999999:4@s.whatsapp.net', name: 'elsewhere' };
    await saveCreds();
    await state.keys.set({ session: { '4917000000001_1.0': Buffer.from('session-bytes') }, 'lid-mapping': { '4917000000001': '201234567890123', '201234567890123_reverse': '4917000000001' } });
    return src;
  }

  it('copies a useMultiFileAuthState folder into the file backend, readable as the same state', async () => {
    const src = await baileysFolder();
    const dir = path.join(await temps.make('bothost-wa-dst-'), 'auth');
    const ctx = context({}, [src]);
    await expect(runImportAuth(whatsappConfig({ auth_dir: dir }), ctx)).resolves.toBe(0);
    expect(ctx.lines[0]).toMatch(/imported 4 items .* linked as \+4915199999999/);
    const dst = new FileKeyValue(dir);
    expect(await isLinked(dst)).toBe(true);
    expect((await dst.keys()).sort()).toEqual(['creds', 'lid-mapping-201234567890123_reverse', 'lid-mapping-4917000000001', 'session-4917000000001_1.0']);
    // baileys' helper reads the imported folder back as it wrote it.
    const again = await useMultiFileAuthState(dir);
    const sessions = await again.state.keys.get('session', ['4917000000001_1.0']);
    expect(Buffer.from(sessions['4917000000001_1.0']!).toString()).toBe('session-bytes');
  });

  it('copies into Redis, creds last, and refuses to overwrite a linked bot', async () => {
    const src = await baileysFolder();
    const redis = await openRedis();
    const store = redisKeyValue(redis, `t-wa-import-${process.pid}-${Date.now()}`, 'whatsapp-auth');
    try {
      await expect(runImportAuth(whatsappConfig({ auth_store: 'store' }), context({}, [src]), { store })).resolves.toBe(0);
      expect((await store.keys()).sort()).toEqual(['creds', 'lid-mapping-201234567890123_reverse', 'lid-mapping-4917000000001', 'session-4917000000001_1.0']);
      const again = context({}, [src]);
      await expect(runImportAuth(whatsappConfig({ auth_store: 'store' }), again, { store })).resolves.toBe(1);
      expect(again.lines[0]).toMatch(/already linked/);
    } finally {
      await store.clear();
      redis.disconnect();
    }
  });

  it('refuses a folder that is not linked', async () => {
    const src = await temps.make('bothost-wa-src-');
    const { saveCreds } = await useMultiFileAuthState(src);
    await saveCreds();
    const ctx = context({}, [src]);
    await expect(runImportAuth(whatsappConfig({ auth_dir: await temps.make('bothost-wa-dst-') }), ctx)).resolves.toBe(1);
    expect(ctx.lines[0]).toMatch(/not linked/);
  });
});
