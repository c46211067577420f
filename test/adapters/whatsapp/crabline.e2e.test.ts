/**
 * End to end with the real baileys: `bot whatsapp` (the built CLI, echo model, file store in a
 * sandbox HOME) connects to a local WhatsApp Web server (crabline) through `ws_url`, with an
 * `auth_dir` holding a linked identity. Two users are answered from their own history, across a
 * restart of the bot (the auth state, its Signal sessions included, read back from disk: the
 * server decrypts the replies sent after the restart); no secret reaches the output.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../../src/sessions/file-session-store.js';
import { startCrablineWhatsApp, type CrablineWhatsApp } from '../../helpers/crabline-whatsapp.js';
import { assertBuilt, killAllCli, makeSandbox, startCli, type LiveCli, type Sandbox } from '../../helpers/run-cli.js';
import { waitFor } from '../../helpers/wait-for.js';
import { writeLinkedAuthDir } from '../../helpers/whatsapp-auth.js';

const ALICE = '4915112345678';
const BOB = '4917612345678';

let server: CrablineWhatsApp | undefined;
let sb: Sandbox | undefined;
afterEach(async () => {
  killAllCli();
  await server?.close();
  await sb?.cleanup();
});

async function history(sessionsDir: string, user: string) {
  const store = new FileSessionStore({ dir: sessionsDir });
  try {
    return await store.getChatHistory(`bot_whatsapp_${user}`);
  } finally {
    await store.close();
  }
}

describe('bot whatsapp against a local WhatsApp Web server (real baileys)', () => {
  it('answers two users from their own history across a restart', async () => {
    assertBuilt();
    sb = await makeSandbox();
    server = await startCrablineWhatsApp(path.join(sb.root, 'crabline.jsonl'));
    const authDir = path.join(sb.home, 'wa-auth');
    await writeLinkedAuthDir(authDir, { id: server.selfJid, name: 'e2e bot' });
    await fsp.writeFile(
      path.join(sb.cwd, 'bots.yaml'),
      ['bots:', '  - platform: whatsapp', '    id: e2e', `    auth_dir: ${JSON.stringify(authDir)}`, `    ws_url: ${JSON.stringify(server.wsUrl)}`, '    send_interval_ms: 100', ''].join('\n'),
    );
    const outputs: string[] = [];
    const run = async (): Promise<LiveCli> => {
      const cli = startCli(sb!, ['whatsapp', '--bot', 'e2e'], { timeoutMs: 90_000, env: { LOG_LEVEL: 'debug' } });
      await cli.waitForStderr(/whatsapp bot \+15550000000 running/, { timeoutMs: 30_000 });
      return cli;
    };
    const stop = async (cli: LiveCli) => {
      cli.proc.kill('SIGTERM');
      const done = await cli.exited(20_000);
      outputs.push(done.all);
      expect(done.code, done.stderr).toBe(0);
    };

    const first = await run();
    await server.userSays(ALICE, 'hello, I am Alice');
    await server.userSays(BOB, 'hi from Bob');
    await waitFor('a reply to each user', () => server!.sentTo(ALICE).length === 1 && server!.sentTo(BOB).length === 1, { timeoutMs: 20_000, explain: () => first.stderr().slice(-3000) });
    expect(server.sentTo(ALICE)[0]!.text).toMatch(/turn 1: you said "hello, I am Alice"/);
    expect(server.sentTo(BOB)[0]!.text).toMatch(/turn 1: you said "hi from Bob"/);
    await stop(first);

    // The linked device's state is on disk in baileys' multi-file layout, sessions included.
    const files = await readdir(authDir);
    expect(files).toContain('creds.json');
    expect(files.some((f) => f.startsWith('session-'))).toBe(true);

    const second = await run();
    await server.userSays(ALICE, 'do you remember me?');
    await server.userSays(BOB, 'me too?');
    await waitFor('a second reply to each user', () => server!.sentTo(ALICE).length === 2 && server!.sentTo(BOB).length === 2, { timeoutMs: 20_000, explain: () => second.stderr().slice(-3000) });
    expect(server.sentTo(ALICE)[1]!.text).toMatch(/turn 2: .*I remember 1 earlier message\(s\) from you; the first was "hello, I am Alice"/);
    expect(server.sentTo(BOB)[1]!.text).toMatch(/turn 2: .*the first was "hi from Bob"/);
    await stop(second);

    expect((await history(sb.sessionsDir, ALICE)).map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect((await history(sb.sessionsDir, BOB)).map((m) => m.content)).toEqual([
      'hi from Bob',
      expect.stringMatching(/turn 1/),
      'me too?',
      expect.stringMatching(/turn 2/),
    ]);
    for (const out of outputs) {
      for (const secret of server.secrets) expect(out, 'a secret was printed').not.toContain(secret);
      // libsignal prints whole session records (private ratchet keys) unless held back.
      expect(out).not.toMatch(/privKey|rootKey|SessionEntry/);
    }
  });
});
