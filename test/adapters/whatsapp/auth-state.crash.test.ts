/**
 * T38 auth state under kill -9, on every backend (file, Redis, Postgres): a bot process decrypts a
 * real Signal message from a peer (baileys' own signal repository, the session kept in the
 * store), replies, then storms `keys.set` (every key type, the peer's session rewritten each
 * time, creds saved each time) and is SIGKILLed at a random moment. After each kill:
 * - every stored value parses (no half-written JSON), creds still name the linked account;
 * - what was acknowledged is there (durable), and Redis / Postgres show each `keys.set` whole or
 *   not at all (every storm key carries the same batch number);
 * - the restarted bot decrypts the peer's next message (its session survived intact).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addTransactionCapability, Curve, DEFAULT_CONNECTION_CONFIG, initAuthCreds, type SignalKeyStore } from 'baileys';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openAuthState, parseCreds, storageKey } from '../../../adapters/whatsapp/auth-state/auth-state.js';
import type { AtomicKeyValue } from '../../../adapters/whatsapp/auth-state/key-value.js';
import { SHARED_REDIS_URL } from '../../helpers/redis-fixtures.js';
import { TempDirs } from '../../helpers/temp-dir.js';
import { openStore, STORM_KEYS_PER_TYPE, STORM_TYPES, type ChildArgs } from '../../helpers/whatsapp-auth-stores.js';
import { connectPostgres, DATABASE_URL, dropSchema, uniqueSchema } from '../../sessions/pg-test-env.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../helpers/whatsapp-auth-child.ts');
const CYCLES = process.env.CHAOS === 'full' ? 25 : 3;
const BOT = '15550001111@s.whatsapp.net';
const PEER = '4915112345678@s.whatsapp.net';
const noop = () => undefined;
const quiet = { debug: noop, info: noop, warn: noop, error: noop };
const silent = { level: 'silent', child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

const temps = new TempDirs();
afterEach(() => temps.removeAll());

function memoryKeys(): SignalKeyStore {
  const m = new Map<string, unknown>();
  return {
    async get(type, ids) {
      const out: Record<string, never> = {};
      for (const id of ids) if (m.has(`${type}-${id}`)) out[id] = m.get(`${type}-${id}`) as never;
      return out;
    },
    async set(data) {
      for (const [type, items] of Object.entries(data)) for (const [id, v] of Object.entries(items ?? {})) v === null ? m.delete(`${type}-${id}`) : m.set(`${type}-${id}`, v);
    },
  };
}

interface Run {
  lines: string[];
  ackedStorm: number;
  killed: Promise<void>;
}

/** Runs the bot child on `args`; kills it -9 after `stormBatches` acknowledged batches. */
function runUntilKilled(args: ChildArgs, stormBatches: number, onReply: (type: 'pkmsg' | 'msg', b64: string) => Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { lines: [], ackedStorm: 0, killed: new Promise((r) => child.once('exit', () => r())) };
    let buf = '';
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        run.lines.push(line);
        const [tag, a, b] = line.split(' ');
        if (tag === 'reply') void onReply(a as 'pkmsg' | 'msg', b!).catch(reject);
        if (tag === 'ok') {
          run.ackedStorm = Number(a);
          if (run.ackedStorm >= stormBatches) child.kill('SIGKILL');
        }
        if (tag === 'error') reject(new Error(`bot child failed: ${line}\n${err}`));
      }
    });
    child.once('exit', () => resolve(run));
  });
}

/** Every stored value parses; creds are linked; storm values are as acknowledged (and whole batches where the backend promises it). */
async function checkConsistent(store: AtomicKeyValue, acked: number, atomicBatches: boolean): Promise<void> {
  const keys = await store.keys();
  const values = await store.get(keys);
  keys.forEach((k, i) => {
    expect(values[i], `value of ${k}`).toBeTruthy();
    expect(() => JSON.parse(values[i]!), `JSON of ${k}`).not.toThrow();
  });
  const creds = parseCreds(values[keys.indexOf('creds')]!, 'the store');
  expect(creds.me?.id).toBe(BOT);
  expect([acked, acked + 1]).toContain((creds.additionalData as { storm: number }).storm);
  const stormNs = STORM_TYPES.flatMap((type) => Array.from({ length: STORM_KEYS_PER_TYPE }, (_, i) => (JSON.parse(values[keys.indexOf(storageKey(type, `storm${i}`))]!) as { n: number }).n));
  expect(stormNs).toHaveLength(STORM_TYPES.length * STORM_KEYS_PER_TYPE);
  for (const n of stormNs) expect([acked, acked + 1]).toContain(n);
  if (atomicBatches) expect(new Set(stormNs).size).toBe(1);
}

async function crashCycles(backend: ChildArgs['backend'], where: Omit<ChildArgs, 'jid' | 'type' | 'ciphertext' | 'sessionId' | 'backend'>, afterKill?: () => Promise<void>): Promise<void> {
  const { store, close } = openStore({ backend, ...where });
  try {
    // The linked bot: creds and one one-time pre-key in the store.
    const bot = await openAuthState(store, quiet);
    bot.state.creds.me = { id: BOT, name: 'bot' };
    const preKey = Curve.generateKeyPair();
    await bot.state.keys.set({ 'pre-key': { '1': preKey } });
    await bot.saveCreds();
    await bot.flush();
    // The peer starts a session from the bot's bundle, as WhatsApp hands it out.
    const peer = DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds: initAuthCreds(), keys: addTransactionCapability(memoryKeys(), silent as never, { maxCommitRetries: 3, delayBetweenTriesMs: 10 }) }, silent as never);
    const c = bot.state.creds;
    const key = (k: Uint8Array) => Buffer.concat([Buffer.from([5]), k]);
    await peer.injectE2ESession({
      jid: BOT,
      session: { registrationId: c.registrationId, identityKey: key(c.signedIdentityKey.public), signedPreKey: { keyId: c.signedPreKey.keyId, publicKey: key(c.signedPreKey.keyPair.public), signature: c.signedPreKey.signature }, preKey: { keyId: 1, publicKey: key(preKey.public) } },
    });
    const sessionId = peer.jidToSignalProtocolAddress(PEER);
    const types: string[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const text = `message ${cycle}`;
      const enc = await peer.encryptMessage({ jid: BOT, data: Buffer.from(text) });
      types.push(enc.type);
      const batches = 3 + Math.floor(Math.random() * 25);
      const run = await runUntilKilled({ backend, ...where, jid: PEER, type: enc.type, ciphertext: Buffer.from(enc.ciphertext).toString('base64'), sessionId }, batches, async (type, b64) => {
        const ack = await peer.decryptMessage({ jid: BOT, type, ciphertext: Buffer.from(b64, 'base64') });
        expect(Buffer.from(ack).toString()).toBe(`ack ${text}`);
      });
      await run.killed;
      // The restarted bot decrypted the message sent after the previous kill.
      expect(run.lines[0]).toBe(`decrypted ${text}`);
      expect(run.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
      expect(run.ackedStorm).toBeGreaterThanOrEqual(batches);
      await afterKill?.();
      await checkConsistent(store, run.ackedStorm, backend !== 'file');
    }
    // After the first reply reached the peer it sends ordinary ratcheted messages: the session state itself survived.
    expect(types.slice(1).every((t) => t === 'msg')).toBe(true);
  } finally {
    await store.clear();
    await close();
  }
}

describe('WhatsApp auth state under kill -9 during keys.set storms', () => {
  it('file backend: every file whole, acknowledged writes durable, the next message decrypts', async () => {
    const dir = await temps.make('bothost-wa-crash-');
    await crashCycles('file', { dir }, async () => {
      for (const name of await readdir(dir)) {
        // A temp file the kill interrupted is never a key (it is removed once stale).
        if (name.endsWith('.json') && !name.startsWith('.tmp-')) expect((await readFile(path.join(dir, name), 'utf8')).length, name).toBeGreaterThan(0);
      }
    });
  });

  it('Redis backend: each keys.set whole or absent, the next message decrypts', async () => {
    await crashCycles('redis', { redisUrl: SHARED_REDIS_URL, hashKey: `t-wa-crash-${randomUUID().slice(0, 8)}` });
  });

  describe('Postgres', () => {
    const schema = uniqueSchema();
    afterAll(async () => {
      const pool = await connectPostgres(1);
      await dropSchema(pool, schema);
      await pool.end();
    });
    it('Postgres backend: each keys.set whole or absent, the next message decrypts', async () => {
      await connectPostgres(1).then((p) => p.end());
      await crashCycles('postgres', { pgUrl: DATABASE_URL, schema, namespace: 'whatsapp-auth:crash' });
    });
  });
});
