/**
 * The host's streaming delivery over an object-literal Outbound: platforms without edits get
 * only the final reply; edits are throttled per reply and per edit scope; sends carry
 * deterministic idempotency keys; a message without an address is logged, never sent anywhere;
 * only the process that ingested a message streams it, and tidies its preview when another
 * process delivered the final.
 */
import { describe, expect, it } from 'vitest';
import type { Outbound } from '../../src/core/adapter.js';
import type { TurnRequest } from '../../src/core/turn-queue.js';
import { StreamingDelivery } from '../../src/host/streaming-delivery.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function recordingOutbound(withEdit: boolean) {
  const calls: Array<{ op: string; address: string; text?: string; key?: string; at: number }> = [];
  const outbound: Outbound = {
    async send(address, chunk, { idempotencyKey }) {
      calls.push({ op: 'send', address, text: chunk.text, key: idempotencyKey, at: Date.now() });
      return `m${calls.length}`;
    },
    async remove(address, id) {
      calls.push({ op: 'remove', address, text: id, at: Date.now() });
    },
    ...(withEdit
      ? {
          async edit(address: string, _id: string, chunk: { text: string }) {
            calls.push({ op: 'edit', address, text: chunk.text, at: Date.now() });
            return _id;
          },
        }
      : {}),
    editScope: (address) => address.split('/')[0]!,
    render: (text) => (text.trim() ? text.match(/[\s\S]{1,10}/g)!.map((t) => ({ text: t, plain: t, formatted: false })) : []),
  };
  return { outbound, calls };
}

const request = (messageId: string, address: string | undefined): TurnRequest => ({
  sessionId: 's',
  agent: 'a',
  inbound: { platform: 'x', botId: 'b', chatId: 'c', userId: 'u', messageId, text: 'q', isDirect: true, mentionsBot: false, receivedAt: 0, ...(address ? { address } : {}) },
});

describe('StreamingDelivery', () => {
  it('no edits: partials are ignored, the final goes out in chunks with keys <bot>|<message>|<index>', async () => {
    const { outbound, calls } = recordingOutbound(false);
    const d = new StreamingDelivery({ outbound, capabilities: { edits: true, typing: false, editIntervalMs: 10, typingIntervalMs: 1000 }, logger: quiet });
    const r = request('m1', 'team/chan');
    d.ingested(r);
    d.partial(r, 'streaming text');
    await sleep(50);
    expect(calls).toEqual([]);
    await d.final({ request: r, reply: 'a'.repeat(25), cursor: 2, duplicate: false });
    expect(calls.map((c) => [c.op, c.key])).toEqual([
      ['send', 'b|m1|0'],
      ['send', 'b|m1|1'],
      ['send', 'b|m1|2'],
    ]);
  });

  it('edits of different replies in one scope are spaced by scopeEditIntervalMs; other scopes are not held up', async () => {
    const { outbound, calls } = recordingOutbound(true);
    const d = new StreamingDelivery({ outbound, capabilities: { edits: true, typing: false, editIntervalMs: 10, typingIntervalMs: 1000, scopeEditIntervalMs: 150 }, logger: quiet });
    const a = request('a', 'T1/x');
    const b = request('b', 'T1/y');
    const c = request('c', 'T2/z');
    for (const r of [a, b, c]) d.ingested(r);
    for (let i = 1; i <= 12; i++) {
      for (const r of [a, b, c]) d.partial(r, `p${i}`);
      await sleep(25);
    }
    await sleep(200);
    // Slots are reserved 150 ms apart; timers may fire late (never early), so check the rate.
    const t1 = calls.filter((x) => x.address.startsWith('T1/')).map((x) => x.at);
    expect(t1.length).toBeGreaterThanOrEqual(2);
    expect(t1.at(-1)! - t1[0]!).toBeGreaterThanOrEqual((t1.length - 1) * 150 - 20);
    // Two replies share T1's budget; T2's one reply has a budget of its own.
    const t2 = calls.filter((x) => x.address.startsWith('T2/'));
    expect(t2.length).toBeGreaterThanOrEqual(3);
    expect(t1.length).toBeLessThanOrEqual(t2.length + 1);
  });

  it('a result without an address is not sent (and does not throw)', async () => {
    const { outbound, calls } = recordingOutbound(true);
    const errors: string[] = [];
    const d = new StreamingDelivery({ outbound, capabilities: { edits: true, typing: true, editIntervalMs: 10, typingIntervalMs: 1000 }, logger: { ...quiet, error: (_o, m) => errors.push(m ?? '') } });
    await d.final({ request: request('m9', undefined), reply: 'hello', cursor: 2, duplicate: false });
    expect(calls).toEqual([]);
    expect(errors).toEqual(['reply has no address to go to; dropped']);
  });

  it('partials of a message ingested elsewhere are not streamed here; the final still goes out', async () => {
    const { outbound, calls } = recordingOutbound(true);
    const d = new StreamingDelivery({ outbound, capabilities: { edits: true, typing: false, editIntervalMs: 5, typingIntervalMs: 1000 }, logger: quiet });
    const r = request('x1', 'T/c');
    d.started(r);
    d.partial(r, 'elsewhere');
    await sleep(40);
    expect(calls).toEqual([]);
    await d.final({ request: r, reply: 'done', cursor: 2, duplicate: false });
    expect(calls.filter((c) => c.op === 'send').map((c) => c.text)).toEqual(['done']);
  });

  it('delivered elsewhere: streaming stops; a preview that is not the final message is removed, one that is gets the final text', async () => {
    const { outbound, calls } = recordingOutbound(true);
    const announced: Array<{ key: string; messageId?: string }> = [];
    const d = new StreamingDelivery({
      outbound,
      capabilities: { edits: true, typing: false, editIntervalMs: 5, typingIntervalMs: 1000 },
      logger: quiet,
      announce: (req, first) => announced.push({ key: req.inbound.messageId, ...(first.messageId ? { messageId: first.messageId } : {}) }),
    });
    const other = request('o1', 'T/c');
    const same = request('o2', 'T/d');
    for (const r of [other, same]) {
      d.ingested(r);
      d.partial(r, 'partial');
    }
    await sleep(40);
    const previews = calls.filter((c) => c.op === 'send');
    expect(previews.map((c) => c.address)).toEqual(['T/c', 'T/d']);
    const previewOf = (address: string) => `m${calls.findIndex((c) => c.op === 'send' && c.address === address) + 1}`;
    d.deliveredElsewhere(other, { messageId: 'elsewhere-1', chunk: { text: 'final', plain: 'final', formatted: false } });
    d.deliveredElsewhere(same, { messageId: previewOf('T/d'), chunk: { text: 'final', plain: 'final', formatted: false } });
    d.partial(other, 'partial, later');
    d.partial(same, 'partial, later');
    await d.idle();
    await sleep(30);
    expect(calls.filter((c) => c.op === 'remove').map((c) => [c.address, c.text])).toEqual([['T/c', previewOf('T/c')]]);
    expect(calls.filter((c) => c.op === 'edit').map((c) => [c.address, c.text])).toEqual([['T/d', 'final']]);
    // Nothing of either reply is sent after the other process delivered it, and nothing was announced here.
    expect(calls.filter((c) => c.op === 'send')).toHaveLength(2);
    expect(announced).toEqual([]);
    // A reply delivered here is announced with its first message.
    const mine = request('o3', 'T/e');
    d.ingested(mine);
    await d.final({ request: mine, reply: 'mine', cursor: 2, duplicate: false });
    expect(announced).toEqual([{ key: 'o3', messageId: `m${calls.findIndex((c) => c.op === 'send' && c.address === 'T/e') + 1}` }]);
  });
});
