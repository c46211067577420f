/**
 * `bot chat` through the real AI SDK over HTTP: the fake OpenAI-compatible server runs in this
 * test process, the CLI is a spawned process pointed at it with OPENAI_BASE_URL.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../helpers/fake-openai-server.js';
import { freePort } from '../helpers/redis-fixtures.js';
import { assertBuilt, killAllCli, makeSandbox, REPO_BOTS_YAML, runCli, runCliJson, startCli, type Sandbox } from '../helpers/run-cli.js';

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

  it('a 401 shows the console user (the operator) the cause, exit 1, one request (no retry) and no key in the output', async () => {
    fake.failNext(401, 1, { error: { message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello'], { env });
    expect(r.code).toBe(1);
    // The answer is the cause and its fix, not the apology platform users get — and never the endpoint's raw text.
    expect(r.stdout.trim()).toBe(`model error: the model endpoint at ${fake.url} rejected the API key (401): set a valid OPENAI_API_KEY (or the agent's api_key)`);
    expect(r.all).not.toContain(KEY);
    expect(r.all).not.toContain('Incorrect API key provided');
    expect(r.stderr).not.toMatch(/unexpected error|at .*\.js:\d+/); // no stack trace
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

  it('a 500 on every attempt: retries are bounded, then the cause, exit 1 (--json: kind "failed")', async () => {
    fake.failNext(500, 10);
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello', '--json'], { env });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ session: 'demo', kind: 'failed' });
    expect(out.reply).toMatch(/^model error: /);
    expect(out.reply).toContain(`the model endpoint at ${fake.url} failed (500)`);
    expect(out.cursor).toBeUndefined();
    const attempts = chatRequests().length;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(r.all).not.toContain(KEY);
  });
});

describe('the model endpoint checked at start-up (GET /models, a warning, never a refusal)', () => {
  const modelsRequests = () => fake.modelListings;

  it('a wrong key: bot chat warns before answering, the answer names the cause, the key is never shown', async () => {
    await fake.close();
    fake = await startFakeOpenAI({ apiKey: 'the-right-key-0123' });
    const wrong = { ...env, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: KEY };
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello'], { env: wrong });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`warning: agent assistant: ${fake.url} refused the API key (401) — set a valid key in OPENAI_API_KEY or agents.assistant.api_key`);
    expect(r.stdout.trim()).toBe(`model error: the model endpoint at ${fake.url} rejected the API key (401): set a valid OPENAI_API_KEY (or the agent's api_key)`);
    expect(modelsRequests()).toHaveLength(1);
    expect(r.all).not.toContain(KEY);
    expect(r.all).not.toContain('the-right-key-0123');
  });

  it('a model the endpoint does not list: one warning naming what it lists; the turn still runs', async () => {
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello'], { env: { ...env, BOT_MODEL: 'no-such-model' } });
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([`warning: agent assistant: ${fake.url} does not list model "no-such-model" — set agents.assistant.model (or BOT_MODEL) to one it lists, e.g. fake-model`]);
  });

  it('an endpoint nobody answers: bot start warns and runs anyway', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}/v1`;
    const down = { ...env, OPENAI_BASE_URL: nobody, BOTHOST_GATEWAY_PORT: String(await freePort()) };
    const start = startCli(sb, ['start'], { env: down });
    await start.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 20_000 });
    await start.waitForStderr(/warning: agent assistant: cannot reach (\S+): ECONNREFUSED — start the model server or fix agents\.assistant\.base_url \/ OPENAI_BASE_URL/, { timeoutMs: 10_000 });
    expect(start.stderr()).toContain(`cannot reach ${nobody}: ECONNREFUSED`);
    start.proc.kill('SIGTERM');
    expect((await start.exited(15_000)).code).toBe(0);
  });

  it('a healthy endpoint: one GET /models, no warning', async () => {
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
    expect(modelsRequests()).toHaveLength(1);
  });

  it('the echo model: no request at all, no warning', async () => {
    const r = await runCli(sb, ['chat', '--session', 'demo', '--message', 'hello'], { env: { ...env, BOT_MODEL: 'echo' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
    expect(fake.requests).toHaveLength(0);
    expect(fake.modelListings).toHaveLength(0);
  });
});
