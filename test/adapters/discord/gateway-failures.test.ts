/**
 * Failures of the Discord connection, in process with the real discord.js against the fake:
 * 4014 and 4004 stop the bot with what to fix (one IDENTIFY, no loop; T37), a bad token stops start(),
 * a gateway that keeps dropping goes to the host's backoff, a host that cannot take a message
 * gets it offered again in order (T21), an unanswerable slash command has its "thinking…" removed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiscordAdapter } from '../../../adapters/discord/adapter.js';
import { DiscordAdapterConfig } from '../../../adapters/discord/config.js';
import type { PlatformAdapter } from '../../../src/core/adapter.js';
import { FAKE_DISCORD_TOKEN, startFakeDiscord, type FakeDiscord } from '../../helpers/fake-discord-server.js';
import { sleep, waitFor } from '../../helpers/wait-for.js';
import { literalHost, type LiteralHost } from './literal-host.js';

const ALICE = { id: '1300000000000000001', username: 'alice' };

let fake: FakeDiscord;
let h: LiteralHost;
let adapter: PlatformAdapter | undefined;

beforeEach(async () => {
  fake = await startFakeDiscord();
  h = literalHost({ backoffMs: 300 });
});
afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
  await fake.close();
});

function create(token = FAKE_DISCORD_TOKEN): PlatformAdapter {
  adapter = createDiscordAdapter(
    DiscordAdapterConfig.parse({ platform: 'discord', id: 'dc', agent: 'a', enabled: true, token, allowed_users: [], unknown_user_policy: 'allow', group_policy: 'mention_only', api_root: fake.url }),
    h.host,
  );
  return adapter;
}

describe('discord gateway failures', () => {
  it('4014 (Message Content intent not enabled) stops the bot with the portal setting named, after one IDENTIFY', async () => {
    fake.gateway.privilegedIntentsEnabled = false;
    await expect(create().start()).rejects.toMatchObject({ code: 'DISCORD_INTENTS_DISABLED' });
    const fatal = await waitFor('fatal', () => h.fatal, { explain: () => h.logText() });
    expect((fatal as { code?: string }).code).toBe('DISCORD_INTENTS_DISABLED');
    expect(fatal.message).toMatch(/4014/);
    expect(fatal.message).toMatch(/Privileged Gateway Intents.*MESSAGE CONTENT INTENT/);
    await sleep(2000);
    expect(fake.gateway.identifies).toBe(1);
    expect(fake.gateway.closeCodes).toEqual([4014]);
    expect(h.connects.attempts).toBe(1);
  });

  it('4004 at IDENTIFY stops the bot (token named, never printed)', async () => {
    fake.gateway.identifyClose = 4004;
    await expect(create().start()).rejects.toMatchObject({ fatal: true });
    const fatal = await waitFor('fatal', () => h.fatal);
    expect((fatal as { code?: string }).code).toBe('DISCORD_TOKEN_INVALID');
    expect(fatal.message).toMatch(/Reset Token.*DISCORD_BOT_TOKEN/);
    await sleep(1500);
    expect(fake.gateway.identifies).toBe(1);
    expect(`${fatal.message} ${h.logText()}`).not.toContain(FAKE_DISCORD_TOKEN);
  });

  it('a token Discord rejects over REST fails start() at once', async () => {
    const wrong = 'MTIz.WRONG-token.for-this-fake';
    await expect(create(wrong).start()).rejects.toMatchObject({ code: 'DISCORD_TOKEN_INVALID', fatal: true });
    expect(fake.gateway.connections).toBe(0);
  });

  it('a gateway that keeps closing is handed to the host\'s backoff after a few quick resumes, then recovers', async () => {
    await create().start();
    await waitFor('connected', () => h.hasLog(/discord gateway connected/));
    fake.gateway.refuseConnections = true;
    const closedAt = Date.now();
    fake.gateway.closeAll(4000);
    await waitFor('given up to the backoff three times', () => h.connects.failures.length >= 3, { timeoutMs: 20_000, explain: () => h.logText() });
    expect(h.connects.failures[0]).toMatch(/closed \d+ times without a successful resume/);
    await sleep(1500);
    // Each connection attempt makes at most 1 + 3 quick resumes, and between attempts the
    // backoff leaves gaps discord.js alone (a retry every 500 ms) never would. A destroyed
    // client never reconnects on its own.
    const times = fake.gateway.connectionTimes.filter((t) => t >= closedAt);
    expect(times.length).toBeLessThanOrEqual(4 * h.connects.attempts);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(1000);
    fake.gateway.refuseConnections = false;
    await waitFor('reconnected', () => fake.gateway.streaming === 1, { timeoutMs: 15_000 });
    const id = fake.dm(ALICE, 'back again');
    await waitFor('ingested after recovery', () => h.ingested.some((i) => i.message.messageId === id));
  });

  it('a message the host cannot take (retry) is offered again, and the sender\'s next message waits its turn', async () => {
    let refusals = 2;
    h.outcome = () => (refusals-- > 0 ? 'retry' : 'enqueued');
    await create().start();
    await waitFor('connected', () => h.hasLog(/discord gateway connected/));
    const first = fake.dm(ALICE, 'one');
    const second = fake.dm(ALICE, 'two');
    await waitFor('both taken', () => h.ingested.filter((i) => i.message.messageId === second).length === 1, { timeoutMs: 10_000 });
    expect(h.ingested.map((i) => i.message.messageId)).toEqual([first, first, first, second]);
    expect(h.hasLog(/offering it again/)).toBe(true);
  });

  it('a slash command the host ignores has its deferred response removed', async () => {
    h.outcome = () => 'ignored';
    await create().start();
    await waitFor('connected', () => h.hasLog(/discord gateway connected/));
    const id = fake.slash(ALICE, 'ask', { args: { question: 'hm' } });
    await waitFor('deferred response removed', () => fake.callsOf('DELETE', /^\/webhooks\/\d+\/:token\/messages\/@original$/).length === 1);
    expect(fake.interactions.get(id)!.callback?.type).toBe(5);
  });
});
