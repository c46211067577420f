/**
 * The host's side of a bot, with a definition and host built from literals: which leadership a
 * single-connection bot gets, the ingest outcome mapping (`retry` when the queue refuses), command
 * answers through the outbound without holding up the ingest, typing on acceptance.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMMON_BOT_CONFIG, LEADER_CONFIG, type AdapterDefinition, type AdapterHost, type CommonBotConfig, type LeadershipSource, type OutboundChunk } from '../../src/core/adapter.js';
import { StoreError } from '../../src/core/errors.js';
import type { InboundMessage } from '../../src/core/inbound.js';
import { createBot, type CheckedBot } from '../../src/host/adapters.js';
import { DeliveryRouter } from '../../src/host/delivery-router.js';
import type { Host } from '../../src/host/host.js';
import { createLogger } from '../../src/host/logger.js';

const logger = createLogger('silent');
const schema = z.strictObject({ ...COMMON_BOT_CONFIG, ...LEADER_CONFIG });

interface Recorded {
  sent: Array<{ address: string; text: string; key: string }>;
  typing: string[];
  host?: AdapterHost;
}

function definition(singleConnection: boolean, recorded: Recorded): AdapterDefinition {
  return {
    platform: 'fake',
    title: 'Fake',
    schema: schema as unknown as z.ZodType<CommonBotConfig>,
    env: {},
    missing: () => null,
    capabilities: () => ({ edits: false, typing: true, threads: false, maxMessageLength: 100, lengthUnit: 'utf16', singleConnection, markdown: 'plain', editIntervalMs: 10, typingIntervalMs: 1000 }),
    async create(config, host) {
      recorded.host = host;
      return {
        platform: 'fake',
        botId: config.id,
        start: async () => undefined,
        stop: async () => undefined,
        outbound: {
          async send(address, chunk: OutboundChunk, { idempotencyKey }) {
            recorded.sent.push({ address, text: chunk.text, key: idempotencyKey });
            return String(recorded.sent.length);
          },
          async typing(address) {
            recorded.typing.push(address);
          },
          render: (text) => (text.trim() ? [{ text, plain: text, formatted: false }] : []),
        },
      };
    },
  };
}

function checked(single: boolean, recorded: Recorded, extra: Partial<CommonBotConfig> = {}): CheckedBot {
  const config = schema.parse({ platform: 'fake', id: 'f1', agent: 'a', enabled: true, allowed_users: [], unknown_user_policy: 'allow', group_policy: 'mention_only', ...extra });
  return { botId: 'f1', definition: definition(single, recorded), config };
}

function fakeHost(ingest: Host['ingest']): Host {
  return { config: { session: { scope: 'per_user' } }, store: {}, ingest, delivery: new DeliveryRouter() } as unknown as Host;
}

const message = (text: string): InboundMessage => ({ platform: 'fake', botId: 'f1', chatId: 'c', userId: 'u', messageId: 'm1', text, isDirect: true, mentionsBot: false, receivedAt: 0, address: 'addr-1' });

function source(configured: boolean, opened: string[]): LeadershipSource {
  return {
    configured,
    describe: configured ? 'bots.yaml redis' : 'REDIS_URL',
    open: (o) => {
      opened.push(`${configured ? 'yaml' : 'env'}:${o?.ttlMs}`);
      return { describe: 'x', acquire: async () => null };
    },
  };
}

describe('createBot', () => {
  it('leadership: auto takes a configured Redis only; redis also takes REDIS_URL; none never; multi-connection platforms never', async () => {
    const opened: string[] = [];
    const rec: Recorded = { sent: [], typing: [] };
    const host = fakeHost(async () => 'enqueued');
    await createBot(checked(true, rec, { leader: 'auto' }), { host, logger, leadership: source(false, opened) });
    expect(opened).toEqual([]);
    await createBot(checked(true, rec, { leader: 'auto', leader_ttl_ms: 1234 }), { host, logger, leadership: source(true, opened) });
    expect(opened).toEqual(['yaml:1234']);
    await createBot(checked(true, rec, { leader: 'redis' }), { host, logger, leadership: source(false, opened) });
    expect(opened).toEqual(['yaml:1234', 'env:10000']);
    await createBot(checked(true, rec, { leader: 'none' }), { host, logger, leadership: source(true, opened) });
    await createBot(checked(false, rec, { leader: 'auto' }), { host, logger, leadership: source(true, opened) });
    expect(opened).toHaveLength(2);
    await expect(createBot(checked(true, rec, { leader: 'redis' }), { host, logger })).rejects.toThrow(/leader: redis but no Redis is configured/);
  });

  it('ingest: the queue refusing is `retry`; other errors propagate; no outcome is `ignored`; enqueued starts typing', async () => {
    const rec: Recorded = { sent: [], typing: [] };
    let behaviour: 'refuse' | 'bug' | 'none' | 'enqueue' = 'refuse';
    const host = fakeHost(async () => {
      if (behaviour === 'refuse') throw new StoreError('redis down');
      if (behaviour === 'bug') throw new TypeError('boom');
      return behaviour === 'none' ? undefined : 'enqueued';
    });
    await createBot(checked(false, rec), { host, logger });
    expect(await rec.host!.ingest(message('hi'))).toBe('retry');
    behaviour = 'bug';
    await expect(rec.host!.ingest(message('hi'))).rejects.toThrow('boom');
    behaviour = 'none';
    expect(await rec.host!.ingest(message('hi'))).toBe('ignored');
    behaviour = 'enqueue';
    expect(rec.typing).toEqual([]);
    expect(await rec.host!.ingest(message('hi'))).toBe('enqueued');
    expect(rec.typing).toEqual(['addr-1']);
  });

  it('a command answer goes out through the outbound, and the ingest does not wait for it', async () => {
    const rec: Recorded = { sent: [], typing: [] };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const host = fakeHost(async (_bot, _m, reply) => {
      void reply('pong').then(() => undefined);
      return 'command';
    });
    const bot = await createBot(checked(false, rec), { host, logger });
    const send = bot.adapter.outbound.send.bind(bot.adapter.outbound);
    bot.adapter.outbound.send = async (...args) => {
      await gate;
      return send(...args);
    };
    expect(await rec.host!.ingest(message('/ping'))).toBe('command');
    expect(rec.sent).toEqual([]);
    release();
    await bot.stop();
    expect(rec.sent).toEqual([{ address: 'addr-1', text: 'pong', key: 'f1|m1|n|0' }]);
  });
});
