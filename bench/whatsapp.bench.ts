/**
 * WhatsApp figures:
 * - inbound upsert → turn enqueued, p50/p99: the fake socket (baileys' own event buffer and
 *   message types) in process, the real adapter (normalize, LID/PN identity, per-chat order) and
 *   the real host (ingress chain, inline queue, file store, echo model), open-loop arrivals from
 *   many users; the clock starts when the socket emits `messages.upsert` and stops when the
 *   host's ingest resolves `enqueued`;
 * - auth state: one `keys.set` of 100 keys (sessions, pre-keys, sender keys …) on the file,
 *   Redis and Postgres backends, median of repeated calls (file: each file fsync'd and renamed,
 *   the directory fsync'd once; Redis: one MULTI; Postgres: one transaction).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useMultiFileAuthState } from 'baileys';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createWhatsAppAdapter } from '../adapters/whatsapp/adapter.js';
import { openAuthState } from '../adapters/whatsapp/auth-state/auth-state.js';
import { FileKeyValue } from '../adapters/whatsapp/auth-state/file-key-value.js';
import type { AtomicKeyValue } from '../src/core/key-value.js';
import { PostgresSessionStore } from '../src/sessions/postgres-session-store.js';
import { redisKeyValue } from '../src/sessions/redis-key-value.js';
import { WhatsAppAdapterConfig } from '../adapters/whatsapp/config.js';
import { botPolicyOf, type AdapterHost } from '../src/core/adapter.js';
import { BotsConfigSchema } from '../src/config/schema.js';
import { holdConnection } from '../src/host/hold-connection.js';
import { createHost } from '../src/host/host.js';
import { createLogger } from '../src/host/logger.js';
import { FakeWhatsApp } from '../test/helpers/fake-whatsapp-socket.js';
import { writeLinkedAuthDir } from '../test/helpers/whatsapp-auth.js';
import { median, openLoop, percentile, timeMs, type Report } from './tools/report.js';

const USERS = 200;
const MESSAGES = 4_000;
const RATE = 400;
const KEYS_PER_SET = 100;
const SETS = 40;

async function inboundLatency(report: Report, dir: string): Promise<void> {
  const logger = createLogger('silent');
  const config = BotsConfigSchema.parse({ store: { backend: 'file', path: path.join(dir, 'sessions') }, bots: [] });
  const host = await createHost(config, { logger, env: {} });
  const authDir = path.join(dir, 'auth');
  await writeLinkedAuthDir(authDir, FakeWhatsApp.SELF);
  const entry = WhatsAppAdapterConfig.parse({ platform: 'whatsapp', id: 'bench', agent: Object.keys(config.agents)[0], enabled: true, allowed_users: [], unknown_user_policy: 'allow', group_policy: 'mention_only', auth_dir: authDir, send_interval_ms: 0, read_receipts: false });
  const policy = botPolicyOf(entry, config.session.scope);
  const emittedAt = new Map<string, number>();
  const latencies: number[] = [];
  const adapterHost: AdapterHost = {
    async ingest(message) {
      const outcome = (await host.ingest(policy, message, async () => undefined)) ?? 'ignored';
      const t0 = emittedAt.get(message.messageId);
      if (outcome === 'enqueued' && t0 !== undefined) latencies.push(performance.now() - t0);
      return outcome;
    },
    deliver: () => () => undefined,
    identify() {},
    holdConnection: (connect, stop) => holdConnection({ name: 'whatsapp:bench', logger }, connect, stop),
    logger,
    commands: {},
  };
  const wa = new FakeWhatsApp();
  const adapter = createWhatsAppAdapter(entry, adapterHost, { socketFactory: wa.factory, stopGraceMs: 0 });
  await adapter.start();
  await wa.connected();
  await openLoop(RATE, MESSAGES, (i) => {
    const user = `49151${(1_000_000 + (i % USERS)).toString()}`;
    const msg = wa.message({ from: user, text: `message ${i}` });
    emittedAt.set(`${user}:${msg.key.id}`, performance.now());
    wa.deliver([msg]);
  });
  const deadline = Date.now() + 60_000;
  while (latencies.length < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await adapter.stop();
  await host.close();
  report.add({ name: 'whatsapp upsert → enqueued p50', value: percentile(latencies, 50), unit: 'ms', extra: { messages: latencies.length, users: USERS, rate: RATE } });
  report.add({ name: 'whatsapp upsert → enqueued p99', value: percentile(latencies, 99), unit: 'ms', extra: { messages: latencies.length, expected: MESSAGES, loadavg: os.loadavg()[0] } });
}

type KeySetter = (data: Record<string, Record<string, unknown>>) => Promise<void>;

async function keysSet(report: Report, name: string, store: AtomicKeyValue | { setKeys: KeySetter; clear(): Promise<void> }, target?: string): Promise<void> {
  const set: KeySetter = 'setKeys' in store ? store.setKeys : await openAuthState(store, createLogger('silent')).then((a) => (data: Record<string, Record<string, unknown>>) => Promise.resolve(a.state.keys.set(data as never)));
  const types = ['session', 'pre-key', 'sender-key', 'app-state-sync-version', 'lid-mapping'] as const;
  const times: number[] = [];
  for (let s = 0; s < SETS; s++) {
    const data: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < KEYS_PER_SET; i++) {
      const type = types[i % types.length]!;
      (data[type] ??= {})[`bench${i}`] = type === 'lid-mapping' ? `${200000000 + i}` : randomBytes(type === 'session' ? 1_500 : 200);
    }
    times.push(await timeMs(() => set(data)));
  }
  await store.clear();
  report.add({ name: `whatsapp auth keys.set(100) ${name}`, value: median(times), unit: 'ms', ...(target ? { target } : {}), extra: { p99: percentile(times, 99), sets: SETS } });
}

export async function benchWhatsApp(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-wa-'));
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
  const schema = `bench_wa_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const pgStore = new PostgresSessionStore({ pool, schema });
  try {
    await inboundLatency(report, dir);
    await keysSet(report, 'file', new FileKeyValue(path.join(dir, 'keys')));
    // The reference: baileys' own helper, same files, no fsync and no rename (not crash-safe).
    const helper = await useMultiFileAuthState(path.join(dir, 'helper'));
    await keysSet(report, "file, baileys' helper", { setKeys: (d) => helper.state.keys.set(d as never) as Promise<void>, clear: () => rm(path.join(dir, 'helper'), { recursive: true, force: true }) }, 'reference, not crash-safe');
    await keysSet(report, 'redis', redisKeyValue(redis, `bench-wa-${randomUUID().slice(0, 8)}`, 'bot:bench:whatsapp-auth'));
    await keysSet(report, 'postgres', pgStore.keyValue('bot:bench:whatsapp-auth'));
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`).catch(() => undefined);
    await pool.end();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
