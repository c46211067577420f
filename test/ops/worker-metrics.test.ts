/**
 * `/metrics` of a real `bot worker` process: after known traffic (three turns, one turn the
 * model refuses) the counters moved by exactly that much, the stage histograms counted each
 * turn, the token counters hold what the fake model server reported, the queue gauges read
 * Redis (the oldest waiting turn while the queue is drained, each bot's unsent replies), and no
 * session id is a label.
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { setQueueDraining } from '../../src/queue/queue-drain.js';
import { BOT_ID, distributedSuite, startWorker, waitFor } from '../helpers/distributed-harness.js';
import { defaultFakeResponder } from '../helpers/fake-openai-server.js';
import { metricsUrlIn, sampleValue, scrape } from '../helpers/prometheus-text.js';

const suite = distributedSuite();

describe('bot worker /metrics', () => {
  it('counts turns by outcome, times their stages, reads queue depths, and serves health', async () => {
    const { env, ingress, prefix, queueName } = await suite.setUp('metrics', { fakeModel: true });
    await fsp.appendFile(env.configPath, 'metrics: { port: 0 }\n');
    const worker = await startWorker('w1', env).ready();
    const url = metricsUrlIn(worker.stderr());
    expect(url, worker.stderr()).toBeDefined();

    const before = await scrape(url!);
    expect(before.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sampleValue(before.samples, 'bothost_turns_total', { outcome: 'ok' })).toBe(0);
    expect(sampleValue(before.samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);

    for (const n of [1, 2, 3]) await ingress.enqueue(`session-secret-${n}`, `user-secret-${n}`, `m${n}`);
    await waitFor('three replies', () => ingress.finals().length === 3);
    suite.fake.failNext(401);
    await ingress.enqueue('session-secret-4', 'user-secret-4', 'm4');
    await waitFor('the refused turn\'s notice', () => ingress.events.some((e) => e.kind === 'failed' && e.messageId === 'm4'));

    const { text, samples } = await scrape(url!);
    const turns = (outcome: string) => sampleValue(samples, 'bothost_turns_total', { agent: 'assistant', outcome });
    expect([turns('ok'), turns('failed'), turns('duplicate'), turns('timeout'), turns('lease_lost')]).toEqual([3, 1, 0, 0, 0]);
    const count = (stage: string) => sampleValue(samples, 'bothost_turn_duration_seconds_count', { agent: 'assistant', stage });
    // Model: three answered calls and the refused one; total and queue_wait: the committed turns.
    expect(count('model')).toBe(4);
    expect(count('total')).toBe(3);
    expect(count('queue_wait')).toBe(3);
    expect(count('commit')).toBe(3);
    expect(sampleValue(samples, 'bothost_turn_duration_seconds_sum', { agent: 'assistant', stage: 'commit' })).toBeGreaterThan(0);
    // Tokens as the fake server reported them (words in the prompt, words in the reply), for the three answered calls.
    const answered = suite.fake.requests.filter((r) => r.path === '/v1/chat/completions' && !JSON.stringify(r.body?.messages).includes('"m4"'));
    expect(answered).toHaveLength(3);
    const words = (t: string) => t.split(/\s+/u).filter(Boolean).length;
    const input = answered.reduce((n, r) => n + (r.body.messages as Array<{ content: string }>).reduce((m, msg) => m + words(String(msg.content)), 0), 0);
    const output = answered.reduce((n, r) => n + words(String(defaultFakeResponder(r.body))), 0);
    expect(input).toBeGreaterThan(0);
    expect(sampleValue(samples, 'bothost_model_tokens_total', { agent: 'assistant', kind: 'input' })).toBe(input);
    expect(sampleValue(samples, 'bothost_model_tokens_total', { agent: 'assistant', kind: 'output' })).toBe(output);
    expect(sampleValue(samples, 'bothost_turn_duration_seconds_sum', { agent: 'assistant', stage: 'total' })).toBeGreaterThan(0);
    expect(sampleValue(samples, 'bothost_dead_letters')).toBe(1);
    expect(sampleValue(samples, 'bothost_queue_waiting')).toBe(0);
    expect(sampleValue(samples, 'bothost_queue_active')).toBe(0);
    expect(sampleValue(samples, 'bothost_oldest_waiting_seconds')).toBe(0);
    expect(sampleValue(samples, 'bothost_outbox_pending', { bot: BOT_ID })).toBe(0);
    expect(text).not.toMatch(/secret/);

    // One info line per finished turn, with its session, agent, duration and outcome.
    const lines = worker.stderr().split('\n').filter((l) => l.includes('"msg":"turn ') && l.includes('"outcome":'));
    expect(lines.map((l) => (JSON.parse(l) as { outcome: string }).outcome).sort()).toEqual(['failed', 'ok', 'ok', 'ok']);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, session: 'session-secret-1', agent: 'assistant', durationMs: expect.any(Number) });

    // A turn nobody takes (the queue drained): the oldest waiting turn ages in the gauge.
    const queueRef = { redis: ingress.client, prefix, queueName };
    await setQueueDraining(queueRef, true);
    await ingress.enqueue('session-secret-5', 'user-secret-5', 'm5');
    await new Promise((r) => setTimeout(r, 1_200));
    const waiting = await scrape(url!);
    expect(sampleValue(waiting.samples, 'bothost_oldest_waiting_seconds')).toBeGreaterThanOrEqual(1);
    await setQueueDraining(queueRef, false);
    await waitFor('the waiting turn answered once the queue resumed', () => ingress.finals().length === 4);
    expect(sampleValue((await scrape(url!)).samples, 'bothost_oldest_waiting_seconds')).toBe(0);

    const base = url!.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true }]);
  });
});
