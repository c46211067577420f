/**
 * The adapter conformance suite: every platform, through its real SDK against its fake server,
 * must behave the same way where the host's promises are concerned. Mostly a spawned
 * `bot <platform>` (file store in a sandbox HOME, a fake OpenAI-compatible model) — the product
 * as an operator runs it; the `retry` acknowledgement and start/stop run the adapter in process.
 * Covers, on every platform: a refused event accepted once later (T21), a redelivery making no
 * second turn (T20), and no secret in any output line at LOG_LEVEL=debug (part of T34).
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import type { AdapterCapabilities, AdapterDefinition, CommonBotConfig } from '../../src/core/adapter.js';
import { StoreError } from '../../src/core/errors.js';
import { createBot } from '../../src/host/adapters.js';
import { PLATFORMS } from '../../src/host/catalog.js';
import { DeliveryRouter } from '../../src/host/delivery-router.js';
import type { Host } from '../../src/host/host.js';
import { createLogger } from '../../src/host/logger.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeReply } from '../helpers/fake-openai-server.js';
import { assertBuilt, killAllCli, makeSandbox, startCli, type LiveCli, type Sandbox } from '../helpers/run-cli.js';
import type { FixtureEvent, PlatformFixture } from './platform-fixture.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const COMMON = { id: 'conformance', agent: 'assistant', enabled: true, allowed_users: [], unknown_user_policy: 'allow', group_policy: 'mention_only' } as const;

export function adapterContract(name: string, makeFixture: () => PlatformFixture): void {
  describe(`adapter conformance: ${name}`, () => {
    const fx = makeFixture();
    let definition: AdapterDefinition;
    let capabilities: AdapterCapabilities;
    let model: FakeOpenAI;
    let reply: (text: string) => FakeReply = () => 'unused';
    let sb: Sandbox;
    const clis: LiveCli[] = [];

    beforeAll(async () => {
      assertBuilt();
      definition = (await PLATFORMS[fx.platform]!.load()).default;
      model = await startFakeOpenAI({
        responder: (body) => {
          const users = (body.messages ?? []).filter((m) => m.role === 'user');
          return reply(`turn ${users.length}: ${String(users.at(-1)?.content ?? '')}`);
        },
      });
    });
    afterAll(async () => {
      killAllCli();
      await model.close();
    });
    beforeEach(async () => {
      reply = (text) => text;
      await fx.start();
      sb = await makeSandbox();
      capabilities = definition.capabilities(parseConfig());
    });
    afterEach(async () => {
      // Whatever ran, no secret reached any output line.
      for (const cli of clis.splice(0)) {
        const all = cli.stdout() + cli.stderr();
        for (const secret of fx.secrets()) expect(all, 'a secret was printed').not.toContain(secret);
      }
      killAllCli();
      await fx.close();
      await sb.cleanup();
    });

    function parseConfig(): CommonBotConfig {
      const entry: Record<string, unknown> = { platform: fx.platform, ...COMMON, ...fx.entry() };
      for (const [key, variable] of Object.entries(definition.env)) entry[key] ??= fx.env()[variable];
      return definition.schema.parse(entry);
    }

    async function startBot(): Promise<LiveCli> {
      const entry = Object.entries(fx.entry()).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`);
      const yaml = ['agents: { assistant: { model: "${BOT_MODEL}" } }', 'bots:', `  - platform: ${fx.platform}`, '    id: conformance', ...entry, ''].join('\n');
      await fsp.writeFile(path.join(sb.cwd, 'bots.yaml'), yaml);
      const env = { ...fx.env(), OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'conformance-model-key', BOT_MODEL: 'fake-model', LOG_LEVEL: 'debug' };
      const cli = startCli(sb, [fx.platform, '--bot', 'conformance'], { env, timeoutMs: 120_000 });
      clis.push(cli);
      await cli.waitForStderr(fx.ready, { timeoutMs: 20_000 });
      return cli;
    }

    async function history(userId: string) {
      const store = new FileSessionStore({ dir: sb.sessionsDir });
      try {
        return await store.getChatHistory(`bot_${fx.platform}_${userId}`);
      } finally {
        await store.close();
      }
    }

    const answered = (event: FixtureEvent, pattern: RegExp) => fx.posted(event).find((m) => pattern.test(m.text));

    it('start and stop are safe twice; a `retry` outcome leaves the event unacknowledged, acceptance acknowledges it', async () => {
      let refuse = true;
      const accepted: string[] = [];
      const host = {
        config: { session: { scope: 'per_user' } },
        store: {},
        delivery: new DeliveryRouter(),
        async ingest(_bot: unknown, message: { messageId: string }) {
          if (refuse) throw new StoreError('storage unavailable (conformance)');
          accepted.push(message.messageId);
          return 'enqueued';
        },
      } as unknown as Host;
      const bot = await createBot({ botId: 'conformance', definition, config: parseConfig() }, { host, logger: createLogger('silent') });
      const started = bot.adapter.start();
      expect(bot.adapter.start()).toBe(started);
      await started;
      const event = await fx.direct(fx.user(1), 'please keep me');
      await sleep(1_000);
      expect(accepted).toEqual([]);
      if (fx.acked(event) !== undefined) expect(fx.acked(event)).toBe(false);
      refuse = false;
      // Platforms with acks deliver an unacknowledged event again by themselves; others are asked to.
      if (fx.acked(event) === undefined) await fx.redeliver(event);
      await until('the event accepted after the refusal', () => accepted.includes(event.messageId), 20_000);
      if (fx.acked(event) !== undefined) await until('the acknowledgement', () => fx.acked(event));
      const stop = bot.stop();
      expect(bot.stop()).toBe(stop);
      await stop;
    });

    it('a DM becomes one turn in bot_<platform>_<userId>; a redelivery makes no second turn and no second reply', async () => {
      await startBot();
      const u1 = fx.user(1);
      const u2 = fx.user(2);
      const first = await fx.direct(u1, 'hello from one');
      const other = await fx.direct(u2, 'hello from two');
      await until('reply to user 1', () => answered(first, /turn 1: hello from one/));
      await until('reply to user 2', () => answered(other, /turn 1: hello from two/));
      await fx.redeliver(first);
      const second = await fx.direct(u1, 'again');
      await until('second reply to user 1', () => answered(second, /turn 2: again/));
      await sleep(500);
      expect(fx.posted(first).filter((m) => /turn 1: hello from one/.test(m.text))).toHaveLength(1);
      expect((await history(u1)).map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
      expect(await history(u2)).toHaveLength(2);
    });

    it('group messages follow group_policy mention_only: ignored without a mention, answered with one', async () => {
      await startBot();
      const ignored = await fx.group(fx.user(3), 'just chatting', { mention: false });
      const asked = await fx.group(fx.user(3), 'bot, are you there', { mention: true });
      await until('reply to the mention', () => answered(asked, /are you there/));
      await sleep(300);
      expect(fx.posted(ignored).filter((m) => /just chatting/.test(m.text))).toHaveLength(0);
    });

    it('a long reply: every message within the declared limit, no code block broken', async () => {
      const limit = capabilities.maxMessageLength;
      const code = Array.from({ length: Math.ceil((limit * 1.5) / 40) }, (_, i) => `const line${i} = ${'x'.repeat(20)};`).join('\n');
      const prose = Array.from({ length: Math.ceil(limit / 60) }, (_, i) => `Paragraph ${i} says something worth reading.`).join('\n\n');
      reply = () => `${prose}\n\n\`\`\`ts\n${code}\n\`\`\`\n\nThe end.`;
      await startBot();
      const event = await fx.direct(fx.user(4), 'write a lot');
      await until('the end of the long reply', () => answered(event, /The end\./), 30_000);
      const posted = fx.posted(event);
      expect(posted.length).toBeGreaterThanOrEqual(3);
      for (const m of posted) {
        expect(fx.length(m.text)).toBeLessThanOrEqual(limit);
        expect(fx.wellFormed(m.text), m.text.slice(0, 200)).toBe(true);
      }
    });

    it('streaming: at most one edit per interval per reply (final-only where the platform cannot edit)', async () => {
      reply = () => ({ text: Array.from({ length: 30 }, (_, i) => `word${i}`).join(' '), delayMs: 60 });
      await startBot();
      const event = await fx.direct(fx.user(5), 'stream please');
      await until('the streamed reply', () => answered(event, /word29/), 20_000);
      await sleep(300);
      const posted = fx.posted(event);
      if (!capabilities.edits) {
        expect(posted.every((m) => m.editedAt.length === 0)).toBe(true);
        return;
      }
      const stream = posted[0]!;
      expect(stream.editedAt.length).toBeGreaterThanOrEqual(1);
      const times = [stream.postedAt, ...stream.editedAt];
      // The final edit may follow the last preview at once; previews keep the interval.
      for (let i = 1; i < times.length - 1; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(capabilities.editIntervalMs - 30);
    });

    it('typing starts on acceptance and stops with the reply', async () => {
      reply = (text) => ({ text, delayMs: 1_500 });
      await startBot();
      const event = await fx.direct(fx.user(6), 'think slowly');
      await sleep(800);
      const during = fx.typing(event).length;
      await until('the slow reply', () => answered(event, /think slowly/), 20_000);
      if (!capabilities.typing) {
        expect(fx.typing(event)).toEqual([]);
        return;
      }
      expect(during).toBeGreaterThanOrEqual(1);
      const atReply = fx.typing(event).length;
      await sleep(Math.max(capabilities.typingIntervalMs * 2, 600));
      expect(fx.typing(event).length).toBe(atReply);
    });

    it('SIGTERM with a turn in flight: the turn finishes, its reply is sent, exit 0', async () => {
      reply = (text) => ({ text, delayMs: 1_500 });
      const cli = await startBot();
      const before = model.requests.length;
      const event = await fx.direct(fx.user(7), 'finish me');
      await until('the turn is running', () => model.requests.length > before, 10_000);
      cli.proc.kill('SIGTERM');
      const done = await cli.exited(20_000);
      expect(done.code, done.stderr).toBe(0);
      expect(answered(event, /finish me/)).toBeTruthy();
    });
  });
}
