/**
 * `bot chat` through the real AI SDK over HTTP: the fake OpenAI-compatible server runs in this
 * test process, the CLI is a spawned process pointed at it with OPENAI_BASE_URL.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../helpers/fake-openai-server.js';
import { assertBuilt, killAllCli, makeSandbox, REPO_BOTS_YAML, runCli, runCliJson, type Sandbox } from '../helpers/run-cli.js';

const KEY = 'fake-key-for-tests';
/** The system prompt of the `assistant` agent in the repo's bots.yaml. */
const SYSTEM_PROMPT = 'You are a helpful, concise assistant. You remember the conversation.';

let fake: FakeOpenAI;
let sb: Sandbox;
let env: Record<string, string>;

beforeAll(() => assertBuilt());
beforeEach(async () => {
  fake = await startFakeOpenAI();
  sb = await makeSandbox();
  await fsp.copyFile(REPO_BOTS_YAML, path.join(sb.cwd, 'bots.yaml'));
  env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: KEY, BOT_MODEL: 'fake-model' };
});
afterEach(async () => {
  killAllCli();
  await fake.close();
  await sb.cleanup();
});
afterAll(() => killAllCli());

const chatRequests = () => fake.requests.filter((r: RecordedRequest) => r.path === '/v1/chat/completions');

describe('bot chat against an OpenAI-compatible endpoint', () => {
  it('resumes the conversation: the second request carries the first turn, the system prompt, stream and model', async () => {
    const first = await runCli(sb, ['chat', '--session', 'demo', '--message', 'My name is Alice'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe('fake: 1 user turn(s); last="My name is Alice"');

    const second = await runCliJson<{ session: string; reply: string; cursor: number }>(
      sb,
      ['chat', '--session', 'demo', '--message', "What's my name?", '--json'],
      { env },
    );
    expect(second).toMatchObject({ session: 'demo', cursor: 4, reply: 'fake: 2 user turn(s); last="What\'s my name?"' });

    const reqs = chatRequests();
    expect(reqs).toHaveLength(2);
    const body = reqs[1]!.body;
    expect(body.model).toBe('fake-model');
    expect(body.stream).toBe(true);
    const messages = (body.messages as Array<{ role: string; content: unknown }>).map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content),
    }));
    expect(messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'My name is Alice' },
      { role: 'assistant', content: 'fake: 1 user turn(s); last="My name is Alice"' },
      { role: 'user', content: "What's my name?" },
    ]);
    // The key is sent to the endpoint, and only there.
    expect(reqs[1]!.headers.authorization).toBe(`Bearer ${KEY}`);
    for (const out of [first.stdout, first.stderr, JSON.stringify(second)]) expect(out).not.toContain(KEY);

    // What was stored is what the model said.
    const show = await runCli(sb, ['session', 'show', 'demo'], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('fake: 2 user turn(s)');
    expect(show.all).not.toContain(KEY);
  });

  it('a 401 gives a polite failure, exit 1, one request (no retry) and no key in the output', async () => {
    fake.failNext(401, 1, { error: { message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Sorry — /);
    expect(r.all).not.toContain(KEY);
    expect(r.stderr).not.toMatch(/unexpected error|at .*\.js:\d+/); // no stack trace
    // The operator (stderr) learns what to fix; the user (stdout) does not see the raw error.
    expect(r.stderr).toContain('rejected the API key (401)');
    expect(r.stdout).not.toContain('401');
    expect(chatRequests()).toHaveLength(1);

    // Nothing half-written: the failed turn stored no messages (the session may not even exist).
    const show = await runCli(sb, ['session', 'show', 'demo', '--json'], { env });
    expect([0, 1]).toContain(show.code);
    const entries = show.code === 0 ? JSON.parse(show.stdout).entries : [];
    expect(entries).toEqual([]);
  });

  it('two 500s then success: the turn is retried and succeeds', async () => {
    fake.failNext(500, 2);
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'reply', reply: 'fake: 1 user turn(s); last="hello"', cursor: 2 });
    expect(chatRequests()).toHaveLength(3);
    expect(r.all).not.toContain(KEY);

    // The retries did not duplicate anything.
    const show = await runCliJson<{ entries: Array<{ role: string; content: string }> }>(sb, ['session', 'show', 'demo', '--json'], { env });
    expect(show.entries.map((e) => [e.role, e.content])).toEqual([
      ['user', 'hello'],
      ['assistant', 'fake: 1 user turn(s); last="hello"'],
    ]);
  });

  it('a 500 on every attempt: retries are bounded, then a polite "not answering", exit 1 (--json: kind "failed")', async () => {
    fake.failNext(500, 10);
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello', '--json'], { env });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ session: 'demo', kind: 'failed' });
    expect(out.reply).toMatch(/^Sorry — the model is not answering right now/);
    expect(out.cursor).toBeUndefined();
    const attempts = chatRequests().length;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(r.all).not.toContain(KEY);
  });
});
