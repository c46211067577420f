/**
 * T31 embedded intake with Telegram: `bot telegram` (built CLI, inline queue, echo model; the
 * file store, and a Redis store whose intake lives in `queue.intake_path`) against the fake Bot
 * API, SIGKILLed at random moments while users stream messages — often the instant the platform got its acknowledgement (webhook answered 200; polling offset
 * confirmed by the next getUpdates). After a restart every acknowledged message is exactly one
 * user entry with a reply (I1, I2; I3/I4 by the echo log check), and its reply was sent (I6,
 * at least once).
 * CI runs a few kills per mode; `CHAOS=full` (npm run chaos) hundreds.
 */
import { describe, expect, it } from 'vitest';
import type { FakeTelegram } from '../helpers/fake-telegram-server.js';
import { freePort } from '../helpers/distributed-harness.js';
import type { LiveCli, Sandbox } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { READY, sleep, stopCli, telegramYaml, useTelegram, writeConfig } from '../adapters/telegram/harness.js';
import { startCliUntilReady } from '../helpers/platform-e2e.js';
import { ackProblems, FULL, randomInt, readSessions, readStore } from './intake-checks.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import type { SessionEntry } from '../../src/core/session-store.js';
import { deleteKeysWithPrefix, openRedis, SHARED_REDIS_URL, uniqueNames } from '../helpers/redis-fixtures.js';

const t = useTelegram();
const KILLS = FULL ? 150 : 4;
const USERS = [7101, 7102, 7103];

type Mode = 'polling' | 'webhook';

/** Where the sessions live: the file store (intake beside it) or Redis under `prefix` (intake in queue.intake_path). */
type Store = { kind: 'file' } | { kind: 'redis'; prefix: string };

async function configure(sb: Sandbox, fake: FakeTelegram, mode: Mode, store: Store): Promise<void> {
  const top = store.kind === 'redis' ? `agents: { assistant: { model: echo } }\nstore: { backend: redis, url: "${SHARED_REDIS_URL}", prefix: ${store.prefix} }` : undefined;
  let yaml = telegramYaml({ apiRoot: fake.url, ...(top ? { top } : {}) });
  if (mode === 'webhook') {
    const port = await freePort();
    yaml = yaml.replace('bots:\n  - platform: telegram\n', `bots:\n  - platform: telegram\n    mode: webhook\n    webhook: { url: "http://127.0.0.1:${port}/tg", secret: chaos-secret-123, port: ${port} }\n`);
  }
  await writeConfig(sb, yaml);
}

const start = (sb: Sandbox): Promise<LiveCli> => startCliUntilReady(sb, ['telegram'], READY, { timeoutMs: 600_000 });

/** The update ids the platform considers delivered: answered 2xx, or below a confirmed offset. */
function acknowledgedUpdates(fake: FakeTelegram, mode: Mode, sent: Map<number, string>): Set<number> {
  if (mode === 'webhook') return new Set([...fake.webhookAttempts].filter(([, s]) => s.some((x) => x >= 200 && x < 300)).map(([id]) => id));
  const confirmedBelow = Math.max(0, ...fake.callsOf('getUpdates').map((c) => Number(c.params.offset ?? 0)));
  return new Set([...sent.keys()].filter((id) => id < confirmedBelow));
}

async function chaos(mode: Mode, store: Store = { kind: 'file' }): Promise<void> {
  const { fake, sb } = t;
  await configure(sb, fake, mode, store);
  const read = async (options: { echo?: boolean } = {}): Promise<Map<string, SessionEntry[]>> => {
    if (store.kind === 'file') return readStore(sb.sessionsDir, options);
    const redis = await openRedis();
    try {
      return await readSessions(new RedisSessionStore({ client: redis, prefix: store.prefix, maxMessages: 100_000 }), options);
    } finally {
      redis.disconnect();
    }
  };
  const sent = new Map<number, string>(); // update_id → text
  let n = 0;
  const say = () => {
    const user = USERS[n % USERS.length]!;
    const text = `m${n++} from ${user}`;
    sent.set(fake.userSays({ chat: { id: user, type: 'private' }, from: { id: user, username: `u${user}` }, text }), text);
  };
  let killedAfterAck = 0;
  for (let k = 0; k < KILLS; k++) {
    const cli = await start(sb);
    const before = acknowledgedUpdates(fake, mode, sent).size;
    const burst = randomInt(3, 12);
    const afterAck = Math.random() < 0.6;
    for (let i = 0; i < burst; i++) {
      say();
      if (Math.random() < 0.5) await sleep(randomInt(0, 15));
    }
    if (afterAck) {
      // Kill the moment the platform has its acknowledgement for one more message.
      const deadline = Date.now() + 5_000;
      while (acknowledgedUpdates(fake, mode, sent).size <= before && Date.now() < deadline) await sleep(1);
      killedAfterAck++;
    } else await sleep(randomInt(0, 250));
    cli.proc.kill('SIGKILL');
    await cli.exited();
  }

  const final = await start(sb);
  const acked = () => [...acknowledgedUpdates(fake, mode, sent)].map((id) => sent.get(id)!);
  const explain = async () => `problems:\n  ${ackProblems(acked(), await read()).slice(0, 20).join('\n  ')}\nstderr tail:\n${final.stderr().slice(-3000)}`;
  await waitFor('every acknowledged message answered', async () => ackProblems(acked(), await read()).length === 0, { timeoutMs: 20_000, explain });
  // Its reply reached the user too (at least once: a kill between send and record may repeat it).
  const undelivered = () => acked().filter((text) => !USERS.some((u) => fake.messages(u).some((m) => m.visible.includes(`you said "${text}"`))));
  await waitFor('every acknowledged message delivered', () => undelivered().length === 0, { timeoutMs: 10_000, explain: () => undelivered().join('\n') });
  await stopCli(final);

  const sessions = await read({ echo: true }); // I2–I4 over every session
  expect(ackProblems(acked(), sessions)).toEqual([]);
  expect(acked().length).toBeGreaterThanOrEqual(killedAfterAck);
}

async function withRedisPrefix(run: (prefix: string) => Promise<void>): Promise<void> {
  const { prefix } = uniqueNames('intake');
  try {
    await run(prefix);
  } finally {
    const redis = await openRedis();
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  }
}

describe('embedded intake: bot telegram killed with SIGKILL at random moments', () => {
  it(`webhook mode: every update answered 200 is answered once after restarts (${KILLS} kills)`, () => chaos('webhook'), FULL ? 1_800_000 : 60_000);
  it(`polling mode: every update whose offset was confirmed is answered once after restarts (${KILLS} kills)`, () => chaos('polling'), FULL ? 1_800_000 : 60_000);
  it(`webhook mode with a Redis store (intake in queue.intake_path): every update answered 200 is answered once (${KILLS} kills)`, () => withRedisPrefix((prefix) => chaos('webhook', { kind: 'redis', prefix })), FULL ? 1_800_000 : 90_000);
});
