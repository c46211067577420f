/**
 * Acknowledgement time while the model is slow (T23): a spawned `bot slack` whose model takes
 * 20 s per answer acknowledges every event within 1 s — HTTP events (200) and Socket Mode
 * envelopes alike — because the ack waits for the durable enqueue, never for the turn.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../../helpers/fake-openai-server.js';
import { freePort, sleep, slackYaml, startSlack, useSlack, writeConfig } from './harness.js';

const t = useSlack();
let model: FakeOpenAI;
const MODEL_ENV = () => ({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'ack-test-model-key', BOT_MODEL: 'slow-model' });
const EVENTS = 40;

beforeAll(async () => {
  model = await startFakeOpenAI({ responder: () => ({ text: 'slow answer', delayMs: 20_000 }) });
});
afterAll(() => model.close());

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1]!;

describe('bot slack: acknowledgements while the model takes 20 s', () => {
  it('HTTP events are answered 200 within 1 s', async () => {
    const { fake, sb } = t;
    const port = await freePort();
    const config = await writeConfig(sb, slackYaml({ apiUrl: fake.apiUrl, mode: 'http', port, top: 'agents: { assistant: { model: "${BOT_MODEL}" } }' }));
    const cli = await startSlack(sb, ['--config', config], MODEL_ENV());
    const target = `http://127.0.0.1:${port}/slack/events`;
    const times: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const said = fake.userSays({ user: `UACK${String(i % 10).padStart(4, '0')}`, channel: `DACK${String(i % 10).padStart(4, '0')}`, text: `slow question ${i}` });
      const [attempt] = await fake.deliver(target, said.message, { retries: false });
      expect(attempt!.status).toBe(200);
      times.push(attempt!.ms);
    }
    expect(p99(times)).toBeLessThan(1000);
    // The turns are really running (one model call per session at a time), not answered yet.
    await sleep(300);
    expect(model.requests.length).toBeGreaterThanOrEqual(1);
    expect(fake.botMessages().filter((m) => m.text === 'slow answer')).toHaveLength(0);
    cli.proc.kill('SIGKILL');
  }, 60_000);

  it('Socket Mode envelopes are acknowledged within 1 s', async () => {
    const { fake, sb } = t;
    const config = await writeConfig(sb, slackYaml({ apiUrl: fake.apiUrl, mode: 'socket', top: 'agents: { assistant: { model: "${BOT_MODEL}" } }' }));
    const cli = await startSlack(sb, ['--config', config], MODEL_ENV());
    const times: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const said = fake.userSays({ user: `USCK${String(i % 10).padStart(4, '0')}`, channel: `DSCK${String(i % 10).padStart(4, '0')}`, text: `slow question ${i}` });
      const sent = performance.now();
      const ack = await fake.socket.waitAck(fake.socket.send(said.message), 5_000);
      expect(ack).toBeDefined();
      times.push(performance.now() - sent);
    }
    expect(p99(times)).toBeLessThan(1000);
    expect(fake.botMessages().filter((m) => m.text === 'slow answer')).toHaveLength(0);
    cli.proc.kill('SIGKILL');
  }, 60_000);
});
