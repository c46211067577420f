/**
 * `bot whatsapp` as an operator runs it (the built CLI, sandbox HOME, echo model) on the fake
 * WhatsApp (served through `socket_module` + `ws_url`):
 * - an unlinked bot links first (QR drawn, scan, 515, "linked as"), then runs and answers;
 * - `bot start` skips an unlinked WhatsApp bot with the login hint;
 * - scale-out: two processes under a Redis leadership lease, one socket between them; the holder
 *   is SIGKILLed and the other connects within the lease TTL, with no 440 ever (T38), and goes on
 *   answering from the same history.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeWhatsAppServer, REMOTE_SOCKET_MODULE, type FakeWhatsAppServer } from '../../helpers/fake-whatsapp-server.js';
import { FakeWhatsApp } from '../../helpers/fake-whatsapp-socket.js';
import { SHARED_REDIS_URL } from '../../helpers/redis-fixtures.js';
import { assertBuilt, killAllCli, makeSandbox, startCli, type Sandbox } from '../../helpers/run-cli.js';
import { waitFor } from '../../helpers/wait-for.js';
import { writeLinkedAuthDir } from '../../helpers/whatsapp-auth.js';

const ALICE = '4915112345678';
let server: FakeWhatsAppServer | undefined;
let sb: Sandbox | undefined;
afterEach(async () => {
  killAllCli();
  await server?.close();
  await sb?.cleanup();
});

async function setup(entry: string[], linked: boolean): Promise<{ wa: FakeWhatsApp; authDir: string }> {
  assertBuilt();
  sb = await makeSandbox();
  server = await startFakeWhatsAppServer();
  const authDir = path.join(sb.home, 'wa-auth');
  if (linked) await writeLinkedAuthDir(authDir, FakeWhatsApp.SELF);
  const yaml = ['bots:', '  - platform: whatsapp', `    auth_dir: ${JSON.stringify(authDir)}`, `    ws_url: ${JSON.stringify(server.url)}`, `    socket_module: ${JSON.stringify(REMOTE_SOCKET_MODULE)}`, '    send_interval_ms: 0', ...entry.map((l) => `    ${l}`), ''];
  await fsp.writeFile(path.join(sb.cwd, 'bots.yaml'), yaml.join('\n'));
  return { wa: server.wa, authDir };
}

describe('bot whatsapp (CLI, fake WhatsApp)', () => {
  it('links an unlinked bot first, then runs it and answers', async () => {
    const { wa, authDir } = await setup(['id: fresh'], false);
    const cli = startCli(sb!, ['whatsapp'], { timeoutMs: 60_000 });
    await cli.waitForStderr(/not linked: run `npx bot whatsapp login --bot fresh`; linking now/, { timeoutMs: 20_000 });
    await cli.waitForStderr(/Scan this QR code/, { timeoutMs: 20_000 });
    // The QR code itself: rows of half blocks (a version-4+ code is 33+ modules wide).
    await cli.waitForStderr(/\n[█▀▄ ]{33,}\n/, { timeoutMs: 5_000 });
    wa.scan();
    await cli.waitForStderr(/linked as \+15550001111/, { timeoutMs: 20_000 });
    await cli.waitForStderr(/whatsapp bot \+15550001111 running/, { timeoutMs: 20_000 });
    expect(JSON.parse(await fsp.readFile(path.join(authDir, 'creds.json'), 'utf8')).me.id).toBe(FakeWhatsApp.SELF.id);
    wa.userSays({ from: ALICE, text: 'first words' });
    await waitFor('the reply', () => wa.textsTo(ALICE).length === 1, { timeoutMs: 20_000 });
    expect(wa.textsTo(ALICE)[0]).toMatch(/turn 1: you said "first words"/);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited(20_000)).code).toBe(0);
  });

  it('bot start skips an unlinked WhatsApp bot and says how to link it', async () => {
    await setup(['id: later'], false);
    const cli = startCli(sb!, ['start'], { timeoutMs: 30_000 });
    await cli.waitForStderr(/later.*not linked: run `npx bot whatsapp login --bot later`/, { timeoutMs: 20_000 });
    cli.proc.kill('SIGTERM');
    await cli.exited(20_000);
  });

  it('scale-out: one socket between two processes; a SIGKILLed holder is replaced within the lease TTL without a 440', async () => {
    const id = `wa-lead-${randomUUID().slice(0, 8)}`;
    const { wa } = await setup([`id: ${id}`, 'leader: redis', 'leader_ttl_ms: 2000'], true);
    const env = { REDIS_URL: SHARED_REDIS_URL, LOG_LEVEL: 'info' };
    const a = startCli(sb!, ['whatsapp', '--bot', id], { timeoutMs: 90_000, env });
    await waitFor('the first socket', () => wa.socket !== undefined, { timeoutMs: 20_000, explain: () => a.stderr() });
    const b = startCli(sb!, ['whatsapp', '--bot', id], { timeoutMs: 90_000, env });
    await b.waitForStderr(/waiting for this bot's connection lease/, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(wa.sockets).toHaveLength(1);

    wa.userSays({ from: ALICE, text: 'before the crash' });
    await waitFor('the first reply', () => wa.textsTo(ALICE).length === 1, { timeoutMs: 20_000 });

    a.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor('the standby to connect', () => wa.sockets.length === 2 && wa.socket !== undefined, { timeoutMs: 15_000, explain: () => b.stderr() });
    // The dead holder's lease expires after its TTL (2 s); the takeover follows within a renewal.
    expect(Date.now() - killedAt).toBeLessThan(2_000 + 3_000);
    wa.userSays({ from: ALICE, text: 'after the crash' });
    await waitFor('the second reply', () => wa.textsTo(ALICE).length === 2, { timeoutMs: 20_000, explain: () => b.stderr() });
    expect(wa.textsTo(ALICE)[1]).toMatch(/turn 2: .*the first was "before the crash"/);
    await new Promise((r) => setTimeout(r, 500));
    expect(wa.closes.filter((c) => c === 440)).toEqual([]);
    expect(wa.sockets).toHaveLength(2);
    b.proc.kill('SIGTERM');
    expect((await b.exited(20_000)).code).toBe(0);
  });
});
