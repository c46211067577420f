/** The outbound's REST calls and decisions with a recording REST literal: typing per channel, refusals, interaction fallbacks. */
import { describe, expect, it } from 'vitest';
import { InteractionTokens } from '../../../adapters/discord/interaction-tokens.js';
import { discordOutbound, type DiscordRest } from '../../../adapters/discord/outbound.js';

function recordingRest(fail: (method: string, route: string) => unknown = () => undefined) {
  const calls: Array<{ method: string; route: string; body?: any }> = [];
  let next = 1;
  const call = (method: string) => async (route: string, options: { body?: unknown; auth?: boolean } = {}) => {
    calls.push({ method, route, body: options.body });
    const err = fail(method, route);
    if (err) throw err;
    return { id: String(next++) };
  };
  const rest: DiscordRest = { post: call('POST'), patch: call('PATCH'), delete: call('DELETE') };
  return { rest, calls };
}

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const chunk = (text: string) => ({ text, plain: text, formatted: true });

describe('discordOutbound', () => {
  it('typing: once per interval per channel, again after the bot posted there; never for interactions', async () => {
    let clock = 0;
    const { rest, calls } = recordingRest();
    const out = discordOutbound({ rest, tokens: new InteractionTokens(), logger, botId: 'dc', typingCoalesceMs: 1000, now: () => clock });
    await out.typing!('m|10|');
    await out.typing!('m|10|');
    await out.typing!('m|11|');
    clock = 999;
    await out.typing!('m|10|');
    clock = 1000;
    await out.typing!('m|10|');
    await out.send('m|10|', chunk('hi'), { idempotencyKey: 'k|0', index: 0 });
    await out.typing!('m|10|');
    await out.typing!('i|5|10');
    expect(calls.filter((c) => c.route.endsWith('/typing')).map((c) => c.route)).toEqual(['/channels/10/typing', '/channels/11/typing', '/channels/10/typing', '/channels/10/typing']);
  });

  it('a refusal for good (50007) resolves undefined; a bad token is fatal; a bad request throws', async () => {
    const refusal = (status: number, code: number) => Object.assign(new Error(`refused ${code}`), { status, code });
    let next: unknown;
    const { rest } = recordingRest(() => next);
    const out = discordOutbound({ rest, tokens: new InteractionTokens(), logger, botId: 'dc' });
    next = refusal(403, 50007);
    await expect(out.send('m|10|', chunk('x'), { idempotencyKey: 'a|0', index: 0 })).resolves.toBeUndefined();
    next = refusal(401, 0);
    await expect(out.send('m|10|', chunk('x'), { idempotencyKey: 'a|0', index: 0 })).rejects.toMatchObject({ code: 'DISCORD_UNAUTHORIZED', fatal: true });
    next = refusal(400, 50035);
    await expect(out.send('m|10|', chunk('x'), { idempotencyKey: 'a|0', index: 0 })).rejects.toThrow(/refused 50035/);
  });

  it('an interaction: the first chunk edits @original, later ones follow up; an unknown interaction falls back to the channel', async () => {
    const tokens = new InteractionTokens();
    tokens.remember('5', '77', 'itoken');
    let unknown = false;
    const { rest, calls } = recordingRest((_m, route) => (unknown && route.startsWith('/webhooks/') ? Object.assign(new Error('Unknown interaction'), { status: 404, code: 10062 }) : undefined));
    const out = discordOutbound({ rest, tokens, logger, botId: 'dc' });
    await out.send('i|5|10', chunk('one'), { idempotencyKey: 'k|0', index: 0 });
    await out.send('i|5|10', chunk('two'), { idempotencyKey: 'k|1', index: 1 });
    unknown = true;
    await out.send('i|5|10', chunk('three'), { idempotencyKey: 'k|2', index: 2 });
    expect(calls.map((c) => `${c.method} ${c.route}`)).toEqual(['PATCH /webhooks/77/itoken/messages/@original', 'POST /webhooks/77/itoken', 'POST /webhooks/77/itoken', 'POST /channels/10/messages']);
    expect(calls.at(-1)!.body).toMatchObject({ content: 'three', allowed_mentions: { parse: [] }, enforce_nonce: true });
    expect(tokens.get('5')).toBeUndefined();
  });
});
