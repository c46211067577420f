/**
 * `bot session list | show | delete` with the shipped bots.yaml see the sessions a running
 * `bot gateway` serves (they live in gateway.session.persist_path, not store.path), and a
 * delete takes effect for the connected owner (its next message: not_found).
 */
import { describe, expect, it } from 'vitest';
import { TestClient } from '../gateway/ws-client.js';
import { runCli, runCliJson, startCli, useSandbox } from '../helpers/run-cli.js';

const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;

describe('bot session and gateway sessions (shipped bots.yaml)', () => {
  const cli = useSandbox({ withRepoConfig: true });

  it('list, show and delete reach gateway sessions; chat sessions stay listed too', async () => {
    await runCliJson(cli.sb, ['chat', '--session', 'console-one', '--message', 'hi', '--json']);
    const gw = startCli(cli.sb, ['gateway', '--port', '0'], { timeoutMs: 60_000 });
    const port = Number((await gw.waitForStderr(READY, { timeoutMs: 20_000 }))[1]);
    const web = await TestClient.open(`ws://127.0.0.1:${port}/`);
    await web.join({ session_id: 'from-the-web' });
    expect((await web.ask('remember 42', 'w1')).content).toContain('turn 1');

    const list = await runCliJson<Array<{ id: string }>>(cli.sb, ['session', 'list', '--json']);
    expect(list.map((s) => s.id).sort()).toEqual(['bot_web_from-the-web', 'console-one']);
    const show = await runCliJson<{ entries: Array<{ content: string }> }>(cli.sb, ['session', 'show', 'bot_web_from-the-web', '--json']);
    expect(show.entries.map((e) => e.content)).toEqual(['remember 42', expect.stringContaining('turn 1')]);

    const del = await runCli(cli.sb, ['session', 'delete', 'bot_web_from-the-web']);
    expect(del.code, del.all).toBe(0);
    expect((await runCliJson<Array<{ id: string }>>(cli.sb, ['session', 'list', '--json'])).map((s) => s.id)).toEqual(['console-one']);
    const from = web.frames.length;
    web.send({ type: 'message', content: 'still there?', id: 'w2' });
    expect(await web.next((f) => f.type === 'error' || f.type === 'accepted', { from })).toMatchObject({ type: 'error', code: 'not_found' });
    web.close();
  }, 60_000);
});
