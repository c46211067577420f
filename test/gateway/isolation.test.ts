/** T27 isolation and authentication: tokens, minted tokens, expiry, loopback trust (cross-site Origin, T32), session ownership. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../src/gateway/auth.js';
import { runCli, useSandbox } from '../helpers/run-cli.js';
import { startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const SECRET = 'test-secret-TEST-FAKE-0123456789';
const ALICE = 'alice-token-TEST-FAKE';
const yaml = (loopback: boolean) => `
agents: { assistant: { model: echo } }
store: { backend: file, path: "{dir}/sessions" }
gateway:
  allow_loopback_without_auth: ${loopback}
  auth: { tokens: { alice: "${ALICE}" }, secret: "${SECRET}" }
  session: { persist: true, persist_path: "{dir}/gw" }
`;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('gateway authentication and isolation (T27)', () => {
  it('without loopback trust: no token → unauthorized (4001); bad, tampered or expired tokens → 401 at upgrade', async () => {
    const g = await startGateway(yaml(false));
    const anon = await TestClient.open(g.ws);
    expect(await anon.join({ session_id: 's' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(await anon.closed).toMatchObject({ code: 4001 });

    const bob = mintToken(SECRET, 'bob', 60);
    const tampered = bob.replace(/^bh1\.[^.]+/, `bh1.${Buffer.from('alice').toString('base64url')}`);
    const expired = mintToken(SECRET, 'bob', 60, Date.now() - 120_000);
    const otherSecret = mintToken('another-secret-TEST-FAKE-0000', 'bob', 60);
    for (const token of ['nope', tampered, expired, otherSecret, `${ALICE}x`]) {
      await expect(TestClient.open(g.ws, bearer(token)), token).rejects.toThrow(/401/);
      await expect(TestClient.open(`${g.ws}/ws?token=${encodeURIComponent(token)}`)).rejects.toThrow(/401/);
    }
    // A token in the join frame works too (clients that cannot set headers); an expired one closes.
    const late = await TestClient.open(g.ws);
    expect(await late.join({ session_id: 's', token: expired })).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/expired/) });
    expect(await late.closed).toMatchObject({ code: 4001 });
    const ok = await TestClient.open(g.ws);
    expect(await ok.join({ session_id: 's', token: bob })).toMatchObject({ type: 'joined', identity: 'bob' });
    const viaHeader = await TestClient.open(g.ws, bearer(ALICE));
    expect(await viaHeader.join({ session_id: 'a' })).toMatchObject({ type: 'joined', identity: 'alice' });
    // The server is still fine after all that.
    expect((await viaHeader.ask('hi', 'h')).content).toContain('turn 1');
  });

  it("a session belongs to its creator: another identity can neither join, resume nor write it, by any id or path", async () => {
    const g = await startGateway(yaml(false));
    const alice = await TestClient.open(g.ws, bearer(ALICE));
    await alice.join({ session_id: 'secret-plans', since: 0 });
    await alice.ask('the launch code is 0000', 'a1');

    const bobToken = mintToken(SECRET, 'bob', 60);
    const bob = await TestClient.open(g.ws, bearer(bobToken));
    for (const since of [undefined, 0, 1, 2]) {
      expect(await bob.join({ session_id: 'secret-plans', ...(since !== undefined ? { since } : {}) })).toMatchObject({ type: 'error', code: 'forbidden' });
    }
    bob.send({ type: 'message', content: 'let me in', id: 'b1' });
    expect(await bob.next((f) => f.type === 'error' && f.code === 'not_joined')).toBeTruthy();
    // Look-alike and encoded ids are other sessions: bob gets his own, empty ones.
    for (const id of ['secret-plans ', 'Secret-plans', 'secret%2Dplans', 'secret_plans', 'bot_web_secret-plans', '../secret-plans', 'secret-plans\u200b']) {
      const c = await TestClient.open(g.ws, bearer(bobToken));
      const joined = await c.join({ session_id: id, since: 0 });
      expect(joined, id).toMatchObject({ type: 'joined', resumed: false, cursor: 0 });
      c.close();
    }
    // The store holds alice's session intact and owned by alice; nothing of it reached bob.
    const info = await g.host.store.getSession('bot_web_secret-plans');
    expect(info!.metadata['gw.owner']).toBe('alice');
    expect(info!.lastCursor).toBe(2);
    expect(JSON.stringify(bob.frames)).not.toContain('launch code');
    // Alice keeps working, and loopback clients (untrusted here) cannot borrow her session either.
    expect((await alice.ask('still mine?', 'a2')).content).toContain('turn 2');
    // T30: identities are stored, tokens never are.
    const files = (await fsp.readdir(g.dir, { recursive: true })).map(String);
    const stored = (await Promise.all(files.map((f) => fsp.readFile(path.join(g.dir, f), 'utf8').catch(() => '')))).join('\n');
    expect(stored).toContain('"gw.owner":"alice"');
    expect(stored).not.toContain(ALICE);
    expect(stored).not.toContain(bobToken.split('.').at(-1));
  });

  it('loopback trust is for token-less clients on this machine only, never for cross-site browser requests', async () => {
    const g = await startGateway(yaml(true));
    const local = await TestClient.open(g.ws);
    expect(await local.join({ session_id: 'mine' })).toMatchObject({ type: 'joined', identity: 'local' });
    const sameSite = await TestClient.open(g.ws, { headers: { origin: g.http } });
    expect(await sameSite.join({ session_id: 'mine2' })).toMatchObject({ type: 'joined', identity: 'local' });
    const evil = await TestClient.open(g.ws, { headers: { origin: 'https://evil.example' } });
    expect(await evil.join({ session_id: 'mine' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    // An authenticated user cannot join the loopback user's session, nor the other way round.
    const alice = await TestClient.open(g.ws, bearer(ALICE));
    expect(await alice.join({ session_id: 'mine' })).toMatchObject({ code: 'forbidden' });
  });
});

describe('bot gateway token', () => {
  const box = useSandbox();
  it('mints a token the gateway accepts; without a secret it says how to set one', async () => {
    const r = await runCli(box.sb, ['gateway', 'token', 'carol', '--ttl', '60'], { env: { BOTHOST_GATEWAY_SECRET: SECRET } });
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^bh1\./);
    const g = await startGateway(yaml(false));
    const c = await TestClient.open(g.ws, bearer(token));
    expect(await c.join({ session_id: 'c' })).toMatchObject({ identity: 'carol' });
    const none = await runCli(box.sb, ['gateway', 'token', 'carol']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/BOTHOST_GATEWAY_SECRET/);
    const bad = await runCli(box.sb, ['gateway', 'token', 'local'], { env: { BOTHOST_GATEWAY_SECRET: SECRET } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/reserved/);
  });
});
