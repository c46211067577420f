/**
 * Distributed mode: the worker runs the model, so it is the role that checks the endpoint at
 * start-up (a warning, it still starts); an ingress (`bot chat` on a bullmq queue) runs no model
 * and claims none — no echo-model notice, and /status names the configured model as the workers'.
 * A turn the model fails reaches the terminal user with its cause, through the outbox.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { deleteKeysWithPrefix, openRedis, SHARED_REDIS_URL, uniqueNames } from '../helpers/redis-fixtures.js';
import { runCli, startCli, useSandbox } from '../helpers/run-cli.js';

const box = useSandbox();
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: 'the-right-key-4567', models: ['fake-model'] });
});
afterAll(() => fake?.close());

async function distributedConfig(prefix: string, queueName: string): Promise<string> {
  const file = path.join(box.sb.root, 'bots.yaml');
  await fsp.writeFile(
    file,
    [
      'agents: { assistant: { model: fake-model } }',
      `store: { backend: redis, url: "${SHARED_REDIS_URL}", prefix: "${prefix}" }`,
      `queue: { backend: bullmq, name: "${queueName}" }`,
      '',
    ].join('\n'),
  );
  return file;
}

it('bot worker with a refused key warns once at start-up and still starts; the ingress claims no model of its own; bot chat shows the cause', async () => {
  const { prefix, queueName } = uniqueNames('modelroles');
  const file = await distributedConfig(prefix, queueName);
  const redis = await openRedis();
  try {
    const worker = startCli(box.sb, ['--config', file, 'worker'], { env: { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'a-wrong-key-1234', LOG_FORMAT: 'json' }, timeoutMs: 60_000 });
    await worker.waitForStderr(/worker ready/, { timeoutMs: 30_000 });
    await worker.waitForStderr(/refused the API key \(401\)/, { timeoutMs: 10_000 });
    const warnings = worker.stderr().split('\n').filter((l) => l.includes('refused the API key'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`agent assistant: ${fake.url} refused the API key (401) — set a valid key in OPENAI_API_KEY or agents.assistant.api_key`);
    expect(worker.stderr()).not.toContain('a-wrong-key-1234');

    // The ingress has no endpoint configured at all: it must neither check one nor claim the echo model.
    const status = await runCli(box.sb, ['--config', file, 'chat', '--session', 'roles', '--message', '/status'], { timeoutMs: 30_000 });
    expect(status.code, status.stderr).toBe(0);
    expect(status.all).not.toMatch(/echo/i);
    expect(status.stderr).not.toContain('warning');
    expect(status.stdout).toContain('Agent: assistant (model: fake-model, run by the workers)');
    expect(status.stderr).toContain('turns run on `bot worker` processes');
    expect(fake.modelListings).toHaveLength(1); // the worker's check only

    // A turn the worker's model refuses: the terminal user (the operator) reads the cause, carried
    // back through the outbox; platform users get the apology (test/distributed/failures-and-cli).
    const turn = await runCli(box.sb, ['--config', file, 'chat', '--session', 'roles', '--message', 'hello'], { timeoutMs: 30_000 });
    expect(turn.code).toBe(1);
    expect(turn.stdout.trim()).toBe(`model error: the model endpoint at ${fake.url} rejected the API key (401): set a valid OPENAI_API_KEY (or the agent's api_key)`);
    expect(turn.all).not.toContain('a-wrong-key-1234');

    worker.proc.kill('SIGTERM');
    expect((await worker.exited(20_000)).code).toBe(0);
  } finally {
    await deleteKeysWithPrefix(redis, prefix);
    await deleteKeysWithPrefix(redis, `bull:${queueName}`);
    redis.disconnect();
  }
});
