/**
 * The WhatsApp auth state over every AtomicKeyValue it runs on — its own file backend and the
 * Redis / Postgres stores' key-value state: sets with deletes, keys, clear, namespaces kept
 * apart; and baileys' AuthenticationState over it (creds + typed keys round-trip, app-state-sync-key revived as its
 * proto, `flush` reports a failed write).
 */
import { randomUUID } from 'node:crypto';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { proto } from 'baileys';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAuthState } from '../../../adapters/whatsapp/auth-state/auth-state.js';
import { FileKeyValue } from '../../../adapters/whatsapp/auth-state/file-key-value.js';
import type { AtomicKeyValue } from '../../../src/core/key-value.js';
import { PostgresSessionStore } from '../../../src/sessions/postgres-session-store.js';
import { redisKeyValue } from '../../../src/sessions/redis-key-value.js';
import { openRedis } from '../../helpers/redis-fixtures.js';
import { TempDirs } from '../../helpers/temp-dir.js';
import { waitFor } from '../../helpers/wait-for.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../../sessions/pg-test-env.js';

const temps = new TempDirs();
let redis: Redis;
let pool: pg.Pool;
let pgStore: PostgresSessionStore;
const schema = uniqueSchema();
const opened: AtomicKeyValue[] = [];
beforeAll(async () => {
  redis = await openRedis();
  pool = await connectPostgres(2);
  pgStore = new PostgresSessionStore({ pool, schema });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.clear()));
  await temps.removeAll();
});
afterAll(async () => {
  redis.disconnect();
  await dropSchema(pool, schema);
  await pool.end();
});

const backends: Array<[string, (ns: string) => Promise<AtomicKeyValue>]> = [
  ['file', async (ns) => new FileKeyValue(path.join(await temps.make('bothost-wa-kv-'), ns))],
  ['redis', async (ns) => redisKeyValue(redis, `t-wa-kv-${randomUUID().slice(0, 8)}`, ns)],
  ['postgres', async (ns) => pgStore.keyValue(`${ns}-${randomUUID().slice(0, 8)}`)],
];

describe.each(backends)('AtomicKeyValue: %s', (_name, make) => {
  const open = async (ns = 'a') => {
    const s = await make(ns);
    opened.push(s);
    return s;
  };

  it('sets, deletes, lists (by prefix), clears', async () => {
    const s = await open();
    await s.set({ creds: '{"v":2}', 'session-4915_1.0': '"x"', 'pre-key-1': '"p"' });
    expect(await s.get(['creds', 'session-4915_1.0', 'missing'])).toEqual(['{"v":2}', '"x"', null]);
    await s.set({ 'pre-key-1': null, 'pre-key-2': '"q"' });
    expect((await s.keys()).sort()).toEqual(['creds', 'pre-key-2', 'session-4915_1.0']);
    expect(await s.keys('pre-key-')).toEqual(['pre-key-2']);
    await s.clear();
    expect(await s.keys()).toEqual([]);
    expect(await s.get(['creds'])).toEqual([null]);
  });

  it('keeps namespaces apart', async () => {
    const a = await open('a');
    const b = await open('b');
    await a.set({ creds: '"a"' });
    expect(await b.get(['creds'])).toEqual([null]);
  });

  it('carries baileys\' auth state: creds, typed keys, app-state-sync-key as its proto', async () => {
    const s = await open();
    const noop = () => undefined;
    const logger = { debug: noop, info: noop, warn: noop, error: noop };
    const first = await openAuthState(s, logger);
    expect(first.linked).toBe(false);
    first.state.creds.me = { id: '15550001111:7@s.whatsapp.net' };
    await first.saveCreds();
    await first.state.keys.set({ session: { '4915_1.0': Buffer.from('s') }, 'app-state-sync-key': { K1: { keyData: Buffer.from('k') } }, 'lid-mapping': { '4915': '2012', '2012_reverse': '4915' } });
    await first.flush();
    const again = await openAuthState(s, logger);
    expect(again.linked).toBe(true);
    expect(again.state.creds.signedIdentityKey.private).toEqual(first.state.creds.signedIdentityKey.private);
    expect(Buffer.from((await again.state.keys.get('session', ['4915_1.0']))['4915_1.0']!).toString()).toBe('s');
    expect((await again.state.keys.get('app-state-sync-key', ['K1'])).K1).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(await again.state.keys.get('lid-mapping', ['2012_reverse'])).toEqual({ '2012_reverse': '4915' });
  });
});

describe('file backend specifics', () => {
  it('ignores and removes stale temp files, reads a 0-byte key file as absent (logged)', async () => {
    const dir = await temps.make('bothost-wa-kv-');
    await writeFile(path.join(dir, '.tmp-abc-session-x.json'), '{"half');
    await utimes(path.join(dir, '.tmp-abc-session-x.json'), new Date(0), new Date(0));
    await writeFile(path.join(dir, 'session-4915_1.0.json'), '');
    const s = new FileKeyValue(dir);
    expect(await s.keys()).toEqual(['session-4915_1.0']);
    expect(await readdir(dir)).not.toContain('.tmp-abc-session-x.json');
    const warnings: object[] = [];
    const noop = () => undefined;
    const auth = await openAuthState(s, { debug: noop, info: noop, warn: (o) => void warnings.push(o), error: noop });
    expect(await auth.state.keys.get('session', ['4915_1.0'])).toEqual({});
    expect(warnings).toHaveLength(1);
  });

  it('refuses an auth_dir that is a file, with a message that says so', async () => {
    const dir = await temps.make('bothost-wa-kv-');
    await writeFile(path.join(dir, 'not-a-dir'), 'x');
    await expect(new FileKeyValue(path.join(dir, 'not-a-dir')).get(['creds'])).rejects.toThrow(/is not a directory: auth_dir must name a folder/);
  });
});

describe('auth_store: store', () => {
  it('the adapter keeps the linked device in the host\'s key-value state (namespace whatsapp-auth) and refuses without one', async () => {
    const { createWhatsAppAdapter } = await import('../../../adapters/whatsapp/adapter.js');
    const { FakeWhatsApp } = await import('../../helpers/fake-whatsapp-socket.js');
    const { writeLinkedStore } = await import('../../helpers/whatsapp-auth.js');
    const { literalHost, whatsappConfig } = await import('./harness.js');
    const prefix = `t-wa-store-${randomUUID().slice(0, 8)}`;
    const namespaces: string[] = [];
    const t = literalHost();
    t.host.keyValue = (ns) => {
      namespaces.push(ns);
      const kv = redisKeyValue(redis, prefix, `bot:wa-test:${ns}`);
      opened.push(kv);
      return kv;
    };
    await writeLinkedStore(redisKeyValue(redis, prefix, 'bot:wa-test:whatsapp-auth'), FakeWhatsApp.SELF);
    const wa = new FakeWhatsApp();
    const adapter = createWhatsAppAdapter(whatsappConfig({ auth_store: 'store' }), t.host, { socketFactory: wa.factory, stopGraceMs: 0 });
    try {
      await adapter.start();
      await wa.connected();
      wa.userSays({ from: '201234567890123@lid', alt: '4915112345678', text: 'hi' });
      await waitFor('the message', () => t.ingested.length === 1);
      expect(t.ingested[0]!.userId).toBe('4915112345678');
      expect(namespaces).toEqual(['whatsapp-auth']);
      expect(await redisKeyValue(redis, prefix, 'bot:wa-test:whatsapp-auth').get(['lid-mapping-201234567890123_reverse'])).toEqual(['"4915112345678"']);
    } finally {
      await adapter.stop();
    }
    const bare = literalHost();
    expect(() => createWhatsAppAdapter(whatsappConfig({ auth_store: 'store' }), bare.host, { socketFactory: wa.factory })).toThrow(/auth_store: store, but bots.yaml configures no Redis or Postgres store/);
  });
});
