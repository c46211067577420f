/**
 * A host opened for the terminal chat (`inboundSpool: false`) sets up no inbound spool, and
 * refuses — loudly, not by quietly skipping the spool — a message routed to one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinConfig } from '../../src/config/builtin-config.js';
import type { InboundMessage } from '../../src/core/inbound.js';
import { createHost, type Host } from '../../src/host/host.js';
import { deferredLogger } from '../../src/host/logger.js';
import type { BotPolicy } from '../../src/ingress/index.js';

const bot: BotPolicy = { id: 'discord-1', platform: 'discord', agent: 'assistant', allowedUsers: [], unknownUserPolicy: 'allow', groupPolicy: 'respond_all', scope: 'per_user' };
const message: InboundMessage = { platform: 'discord', botId: bot.id, chatId: 'c1', userId: 'u1', userName: 'u', messageId: 'm1', text: 'hi', isDirect: true, mentionsBot: true, receivedAt: Date.now() };

let home: string | undefined;
let host: Host | undefined;
afterEach(async () => {
  await host?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  host = home = undefined;
});

describe('the host without an inbound spool', () => {
  it('rejects a message routed to the spool, and still takes plain ones', async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'bothost-nospool-'));
    host = await createHost(builtinConfig(home).config, { logger: deferredLogger('silent'), env: {}, inboundSpool: false });
    await expect(host.ingest(bot, message, async () => undefined, { spool: true })).rejects.toThrow(/inboundSpool: false/);
    expect(await host.ingest(bot, { ...message, messageId: 'm2' }, async () => undefined)).toBe('enqueued');
  });
});
