/**
 * `bot doctor` as a real process against real servers: a healthy set-up passes, and each broken
 * piece — an evicting Redis without persistence, a Redis that is down, a wrong API key, an
 * unlisted model, a bad Telegram token, an open gateway — is reported with its fix, exit 1, and
 * no secret in the output.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/ops/doctor-report.js';
import { destroyOwnRedises, freePort, OwnRedis, SHARED_REDIS_URL, uniqueNames } from '../helpers/redis-fixtures.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FAKE_TOKEN, startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram-server.js';
import { runCli, useSandbox } from '../helpers/run-cli.js';

const API_KEY = 'sk-right-key-for-doctor';
const box = useSandbox();
let model: FakeOpenAI;
let telegram: FakeTelegram;
beforeAll(async () => {
  model = await startFakeOpenAI({ apiKey: API_KEY, models: ['fake-model', 'other-model'] });
  telegram = await startFakeTelegram();
});
afterEach(() => destroyOwnRedises());
afterAll(async () => {
  await model.close();
  await telegram.close();
});

interface Setup {
  redisUrl?: string;
  modelName?: string;
  gateway?: string;
  telegram?: boolean;
}

function yamlFor(o: Setup): string {
  const { prefix, queueName } = uniqueNames('doctor');
  const url = o.redisUrl ?? SHARED_REDIS_URL;
  return [
    `agents: { assistant: { model: ${o.modelName ?? 'fake-model'} } }`,
    `store: { backend: redis, url: "${url}", prefix: "${prefix}" }`,
    `queue: { backend: bullmq, name: "${queueName}" }`,
    o.gateway ?? '',
    'bots:',
    `  - { platform: telegram, id: tg, token: "\${TELEGRAM_BOT_TOKEN}", api_root: "${telegram.url}" }`,
    '  - { platform: telegram, id: tg2, token: "${SECOND_TELEGRAM_TOKEN}" }',
    '',
  ].join('\n');
}

async function doctor(o: Setup, env: Record<string, string>): Promise<{ code: number | null; checks: CheckResult[]; table: string; all: string }> {
  const file = path.join(box.sb.root, 'bots.yaml');
  await fsp.writeFile(file, yamlFor(o));
  const base = { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: API_KEY, TELEGRAM_BOT_TOKEN: FAKE_TOKEN, ...env };
  const json = await runCli(box.sb, ['--config', file, 'doctor', '--json'], { env: base });
  const table = await runCli(box.sb, ['--config', file, 'doctor'], { env: base });
  expect(table.code).toBe(json.code);
  return { code: json.code, checks: (JSON.parse(json.stdout) as { checks: CheckResult[] }).checks, table: table.stdout, all: json.all + table.all };
}

const find = (checks: CheckResult[], name: string) => {
  const found = checks.find((c) => c.check === name);
  if (!found) throw new Error(`no check "${name}" in ${JSON.stringify(checks, null, 2)}`);
  return found;
};

describe('bot doctor', () => {
  it('passes a healthy set-up: store, Redis policy, model and key, Telegram token; an unset token is a skip', async () => {
    const r = await doctor({}, {});
    expect(r.code, r.table).toBe(0);
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
    for (const name of ['node', 'config', 'store (redis)', 'redis policy', 'model (assistant)', 'bot tg']) expect(find(r.checks, name).status, name).toBe('ok');
    expect(find(r.checks, 'bot tg').detail).toContain('@test_bot');
    expect(find(r.checks, 'bot tg2')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/skipped: SECOND_TELEGRAM_TOKEN not set/) });
    expect(r.table).toMatch(/^✓ node/m);
    expect(r.table).toMatch(/^⚠ bot tg2/m);
    expect(r.all).not.toContain(API_KEY);
    expect(r.all).not.toContain(FAKE_TOKEN);
  });

  it('reports an evicting Redis without persistence with the fix', async () => {
    const redis = await OwnRedis.start(['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no']);
    const r = await doctor({ redisUrl: redis.url }, {});
    expect(r.code).toBe(1);
    expect(find(r.checks, 'redis policy')).toMatchObject({ status: 'fail', detail: expect.stringContaining('allkeys-lru'), fix: expect.stringContaining('maxmemory-policy noeviction') });
    expect(find(r.checks, 'redis persistence')).toMatchObject({ status: 'warn', fix: expect.stringContaining('appendonly yes') });
    expect(r.table).toMatch(/^✗ redis policy .*allkeys-lru.*\n\s+fix: .*noeviction/m);
  });

  it('reports a Redis that is down', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = await doctor({ redisUrl: url }, {});
    expect(r.code).toBe(1);
    expect(find(r.checks, 'store (redis)')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/cannot reach Redis/), fix: expect.stringContaining('start Redis') });
    expect(find(r.checks, 'redis policy')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/cannot connect/) });
  });

  it('reports a wrong API key and an unlisted model, never printing the key', async () => {
    const wrong = await doctor({}, { OPENAI_API_KEY: 'sk-wrong-key-123456' });
    expect(wrong.code).toBe(1);
    expect(find(wrong.checks, 'model (assistant)')).toMatchObject({ status: 'fail', detail: expect.stringContaining('refused the API key'), fix: expect.stringContaining('OPENAI_API_KEY') });
    expect(wrong.all).not.toContain('sk-wrong-key-123456');

    const unlisted = await doctor({ modelName: 'gpt-imaginary' }, {});
    expect(unlisted.code).toBe(1);
    expect(find(unlisted.checks, 'model (assistant)')).toMatchObject({ status: 'fail', fix: expect.stringContaining('fake-model, other-model') });
  });

  it('reports a bad Telegram token with the fix, never printing it', async () => {
    const r = await doctor({}, { TELEGRAM_BOT_TOKEN: '999:not-the-right-token' });
    expect(r.code).toBe(1);
    expect(find(r.checks, 'bot tg')).toMatchObject({ status: 'fail', detail: expect.stringContaining('refused the token'), fix: expect.stringContaining('@BotFather') });
    expect(r.all).not.toContain('not-the-right-token');
  });

  it('fails a gateway bound beyond loopback without auth, passes it with a secret', async () => {
    const open = await doctor({ gateway: 'gateway: { enabled: true, host: 0.0.0.0 }' }, {});
    expect(open.code).toBe(1);
    expect(find(open.checks, 'gateway auth')).toMatchObject({ status: 'fail', fix: expect.stringContaining('BOTHOST_GATEWAY_SECRET') });
    const guarded = await doctor({ gateway: 'gateway: { enabled: true, host: 0.0.0.0 }' }, { BOTHOST_GATEWAY_SECRET: 'a-long-enough-secret-value' });
    expect(find(guarded.checks, 'gateway auth').status).toBe('ok');
    expect(guarded.code, guarded.table).toBe(0);
  });
});
