/**
 * T35 deep JSON: a frame nested thousands of levels deep (in any field, the type included) is a
 * `bad_frame`, never a server error, and the connection stays usable.
 */
import { describe, expect, it } from 'vitest';
import { parseClientFrame } from '../../src/gateway/frames.js';
import { BASE_YAML, startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const DEEP_FRAMES = (n: number) => [
  `{"type":${arrays(n)}}`,
  `{"type":${objects(n)}}`,
  `{"type":"message","content":${objects(n)}}`,
  `{"type":"message","content":"x","extra":${arrays(n)}}`,
  `{"type":"join","since":${objects(n)}}`,
  `{"type":"join","session_id":"s","agent_id":${arrays(n)}}`,
  arrays(n),
  `{"type":"ping","x":"${'['.repeat(n)}"}`, // brackets inside a string are not nesting
];

describe('deeply nested frames', () => {
  it('parseClientFrame answers bad_frame for every shape and depth, and never throws', () => {
    for (const n of [100, 10_000, 30_000]) {
      for (const raw of DEEP_FRAMES(n)) {
        const r = parseClientFrame(raw);
        if (raw.startsWith('{"type":"ping"')) expect(r.ok, raw.slice(0, 40)).toBe(true);
        else expect(r, raw.slice(0, 40)).toMatchObject({ ok: false, code: expect.stringMatching(/^bad_(frame|since)$/) });
      }
    }
    expect(parseClientFrame(`{"type":${arrays(10_000)}}`)).toMatchObject({ code: 'bad_frame', message: expect.stringMatching(/nested|type/) });
  });

  it('over a real socket: bad_frame for each, then the same connection joins and chats', async () => {
    const g = await startGateway(BASE_YAML);
    const c = await TestClient.open(g.ws);
    for (const raw of DEEP_FRAMES(10_000)) {
      const from = c.frames.length;
      c.send(raw);
      const answer = await c.next((f) => f.type === 'error' || f.type === 'pong', { from });
      if (raw.startsWith('{"type":"ping"')) expect(answer.type).toBe('pong');
      else expect(answer, raw.slice(0, 40)).toMatchObject({ type: 'error', code: expect.stringMatching(/^bad_(frame|since)$/) });
    }
    expect(await c.join({ session_id: 'after-deep' })).toMatchObject({ type: 'joined' });
    expect((await c.ask('still here?', 'm1')).content).toContain('turn 1');
    expect(JSON.stringify(c.frames)).not.toContain('unavailable');
  });
});
