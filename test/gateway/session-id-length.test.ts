/**
 * `session_id` is any string up to 256 characters, counted as Unicode code points: 256 emoji
 * work like 256 ASCII letters. Ids whose key already fitted keep exactly the same key.
 */
import { describe, expect, it } from 'vitest';
import { webSessionKey } from '../../src/sessions/web-sessions.js';
import { BASE_YAML, startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const EMOJI = '\u{1F600}';

describe('session_id length', () => {
  it('256 characters of any kind join, chat and resume; 257 are refused', async () => {
    const g = await startGateway(BASE_YAML);
    const ids = [EMOJI.repeat(256), 'é'.repeat(256), '/'.repeat(256), `${'字'.repeat(200)}${EMOJI.repeat(56)}`, 'a'.repeat(256)];
    for (const id of ids) {
      const c = await TestClient.open(g.ws);
      expect(await c.join({ session_id: id }), id.slice(0, 8)).toMatchObject({ type: 'joined', session_id: id, resumed: false });
      expect((await c.ask('hi', 'm1')).content).toContain('turn 1');
      c.close();
      const again = await TestClient.open(g.ws);
      expect(await again.join({ session_id: id, since: 0 })).toMatchObject({ type: 'joined', resumed: true, cursor: 2 });
      again.close();
    }
    // Two long ids differing in their last character are two sessions.
    const other = await TestClient.open(g.ws);
    expect(await other.join({ session_id: `${EMOJI.repeat(255)}\u{1F601}` })).toMatchObject({ type: 'joined', resumed: false });
    for (const id of [EMOJI.repeat(257), 'a'.repeat(257)]) {
      const c = await TestClient.open(g.ws);
      expect(await c.join({ session_id: id })).toMatchObject({ type: 'error', code: 'bad_frame', message: expect.stringMatching(/256 characters/) });
    }
  });

  it('keys of ids that fitted before are unchanged', () => {
    expect(webSessionKey('abc')).toBe('bot_web_abc');
    expect(webSessionKey('a_b')).toBe('bot_web_a%5Fb');
    expect(webSessionKey('/'.repeat(256))).toBe(`bot_web_${'%2F'.repeat(256)}`);
    expect(webSessionKey(`${EMOJI.repeat(80)}`)).toBe(`bot_web_${'%F0%9F%98%80'.repeat(80)}`);
    const long = webSessionKey(EMOJI.repeat(256));
    expect(long.length).toBeLessThanOrEqual(1024);
    expect(long).not.toBe(webSessionKey(`${EMOJI.repeat(255)}\u{1F601}`));
  });
});
