/**
 * T32 loopback trust vs DNS rebinding: with `allow_loopback_without_auth`, a token-less upgrade is
 * trusted only when its Host header names the loopback interface with the gateway's port, and any
 * Origin is that same loopback origin. Upgrades are sent with attacker-chosen Host/Origin headers
 * over real sockets (a rebinding page's requests arrive from 127.0.0.1 with its own Host).
 */
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../src/gateway/auth.js';
import { startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const SECRET = 'test-secret-TEST-FAKE-0123456789';
const YAML = `
agents: { assistant: { model: echo } }
store: { backend: file, path: "{dir}/sessions" }
gateway:
  allow_loopback_without_auth: true
  auth: { secret: "${SECRET}" }
  session: { persist: true, persist_path: "{dir}/gw" }
`;

/** Open a WebSocket to the gateway's loopback address with exactly these Host/Origin headers. */
async function joinWith(port: number, headers: Record<string, string>, extra: Record<string, string> = {}) {
  const c = await TestClient.open(`ws://127.0.0.1:${port}/`, { headers: { ...headers, ...extra }, ...(headers.Origin ? { origin: headers.Origin } : {}) });
  const frame = await c.join({ session_id: `s-${Math.random()}` });
  c.close();
  return frame;
}

describe('loopback trust and DNS rebinding (T32)', () => {
  it('trusts only a Host naming the loopback interface with this port, and a matching loopback Origin', async () => {
    const g = await startGateway(YAML);
    const p = g.gateway.port;
    const trusted: Record<string, string>[] = [
      { Host: `127.0.0.1:${p}` },
      { Host: `localhost:${p}` },
      { Host: `LOCALHOST:${p}` },
      { Host: `127.0.0.1:${p}`, Origin: `http://127.0.0.1:${p}` },
      { Host: `localhost:${p}`, Origin: `http://localhost:${p}` },
      { Host: `[::1]:${p}`, Origin: `http://[::1]:${p}` },
    ];
    for (const h of trusted) expect(await joinWith(p, h), JSON.stringify(h)).toMatchObject({ type: 'joined', identity: 'local' });

    const refused: Record<string, string>[] = [
      { Host: `evil.example:${p}`, Origin: `http://evil.example:${p}` }, // the rebinding page itself
      { Host: `evil.example:${p}` }, // a non-browser client naming another host
      { Host: `127.0.0.1.nip.io:${p}`, Origin: `http://127.0.0.1.nip.io:${p}` }, // resolves to 127.0.0.1
      { Host: `localhost.evil.example:${p}`, Origin: `http://localhost.evil.example:${p}` },
      { Host: `127.0.0.1:${p + 1}`, Origin: `http://127.0.0.1:${p + 1}` }, // another port: another origin
      { Host: `127.0.0.1`, Origin: 'http://127.0.0.1' },
      { Host: `127.0.0.1:${p}`, Origin: 'https://evil.example' },
      { Host: `127.0.0.1:${p}`, Origin: `http://localhost:${p}` }, // not the same origin as Host
      { Host: `127.0.0.1:${p}`, Origin: 'null' },
      { Host: `127.0.0.2:${p}`, Origin: `http://127.0.0.2:${p}` },
      { Host: `0.0.0.0:${p}`, Origin: `http://0.0.0.0:${p}` },
      { Host: `[::ffff:127.0.0.1]:${p}` },
      { Host: `2130706433:${p}` },
    ];
    for (const h of refused) expect(await joinWith(p, h), JSON.stringify(h)).toMatchObject({ type: 'error', code: 'unauthorized' });

    // A token still works whatever the Host says.
    const bob = mintToken(SECRET, 'bob', 60);
    expect(await joinWith(p, { Host: `evil.example:${p}`, Origin: `http://evil.example:${p}` }, { Authorization: `Bearer ${bob}` })).toMatchObject({ type: 'joined', identity: 'bob' });
  });
});
