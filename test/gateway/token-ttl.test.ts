/** `bot gateway token --ttl`: a TTL the gateway would reject is refused when minting, with the maximum named. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MAX_TOKEN_TTL_SECONDS } from '../../src/config/schema.js';
import { mintToken } from '../../src/gateway/auth.js';
import { runCli, useSandbox } from '../helpers/run-cli.js';
import { startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const SECRET = 'test-secret-TEST-FAKE-0123456789';
const YAML = `
agents: { assistant: { model: echo } }
store: { backend: memory }
gateway:
  auth: { secret: "${SECRET}" }
`;

describe('minted token lifetimes', () => {
  const box = useSandbox();

  it('refuses a TTL past the maximum (CLI and API) and names the maximum', async () => {
    for (const ttl of ['99999999999999', String(MAX_TOKEN_TTL_SECONDS + 1)]) {
      const r = await runCli(box.sb, ['gateway', 'token', 'alice', '--ttl', ttl], { env: { BOTHOST_GATEWAY_SECRET: SECRET } });
      expect(r.code, r.all).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(String(MAX_TOKEN_TTL_SECONDS));
    }
    expect(() => mintToken(SECRET, 'alice', MAX_TOKEN_TTL_SECONDS + 1)).toThrow(/at most/);
    expect(() => mintToken(SECRET, 'alice', 0)).toThrow(/at least/);
    expect(() => parseConfig(`${YAML.replace('auth: {', `auth: { token_ttl: ${MAX_TOKEN_TTL_SECONDS + 1},`)}`, { env: {} })).toThrow(/token_ttl/);
  });

  it('a token minted with the maximum TTL is accepted by the gateway', async () => {
    const r = await runCli(box.sb, ['gateway', 'token', 'alice', '--ttl', String(MAX_TOKEN_TTL_SECONDS)], { env: { BOTHOST_GATEWAY_SECRET: SECRET } });
    expect(r.code, r.all).toBe(0);
    const g = await startGateway(YAML);
    const c = await TestClient.open(g.ws, { headers: { authorization: `Bearer ${r.stdout.trim()}` } });
    expect(await c.join({ session_id: 's' })).toMatchObject({ type: 'joined', identity: 'alice' });
  });
});
