/**
 * The durable delivery outbox with real processes: `bot worker`s produce replies, ingress
 * processes (test/helpers/outbox-ingress-child.mjs: the product's openIngressQueue +
 * DeliveryRouter from the build) consume the bot's outbox and send each reply to a fake
 * platform over HTTP. Checks I6: every reply is delivered; a reply is sent twice only when an
 * ingress process died between sending it and recording it, and each such repeat is counted
 * by the process that repeated it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TurnRequest } from '../../src/core/turn-queue.js';
import { outboxKeys } from '../../src/queue/inbox-keys.js';
import { OUTBOX_DEFAULTS } from '../../src/queue/outbox-consumer.js';
import {
  distributedSuite,
  fakeModelEnv,
  Ingress,
  makeEnv,
  range,
  sleep,
  SHARED_REDIS_URL,
  startWorker,
  turnRequest,
  uniqueNames,
  waitFor,
} from '../helpers/distributed-harness.js';

const suite = distributedSuite();
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'outbox-ingress-child.mjs');
/** The outbox bot: not the harness Ingress's own bot, so the test process only enqueues for it. */
const BOT = 'ob';
const CLAIM_IDLE_MS = 1000;

interface Send {
  kind: string;
  messageId: string;
  sessionId: string;
  text: string;
  by: string;
}

/** A platform's send endpoint: records every send when it arrives, answers after `delayMs`. */
class FakePlatform {
  readonly sends: Send[] = [];
  /** Requests received and not yet answered, by sender. */
  readonly inFlight = new Map<string, number>();
  /** How long the platform takes to answer a send from `by`. */
  delayMs: (by: string) => number = () => 0;
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        const send = JSON.parse(body) as Send;
        this.sends.push(send);
        this.inFlight.set(send.by, (this.inFlight.get(send.by) ?? 0) + 1);
        setTimeout(() => {
          this.inFlight.set(send.by, (this.inFlight.get(send.by) ?? 1) - 1);
          res.writeHead(200).end('{"ok":true}');
        }, this.delayMs(send.by));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/send`;
    return this;
  }

  countsById(): Map<string, number> {
    const m = new Map<string, number>();
    for (const s of this.sends) m.set(s.messageId, (m.get(s.messageId) ?? 0) + 1);
    return m;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

interface ChildEvent {
  ready?: string;
  event?: string;
  inboundId?: string;
  count?: number;
}

class IngressChild {
  readonly proc: ChildProcess;
  readonly events: ChildEvent[] = [];
  private out = '';
  private err = '';

  constructor(
    readonly name: string,
    args: { prefix: string; queueName: string; platformUrl: string; claimIdleMs: number },
  ) {
    this.proc = spawn(process.execPath, [CHILD, JSON.stringify({ ...args, redisUrl: SHARED_REDIS_URL, botId: BOT, name })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(this);
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
      const lines = this.out.split('\n');
      this.out = lines.pop()!;
      for (const l of lines) if (l.trim()) this.events.push(JSON.parse(l) as ChildEvent);
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.err += d));
    this.proc.on('exit', () => children.delete(this));
  }

  ready(): Promise<unknown> {
    return waitFor(`ingress ${this.name} to be ready (stderr: ${this.err.slice(-500)})`, () => {
      if (this.proc.exitCode !== null) throw new Error(`ingress ${this.name} exited ${this.proc.exitCode}: ${this.err.slice(-2000)}`);
      return this.events.some((e) => e.ready === this.name);
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await exited;
  }

  eventsOf(type: string): ChildEvent[] {
    return this.events.filter((e) => e.event === type);
  }
}
const children = new Set<IngressChild>();
const platforms = new Set<FakePlatform>();

afterEach(async () => {
  await Promise.all([...children].map((c) => c.kill()));
  await Promise.all([...platforms].map((p) => p.close()));
  platforms.clear();
});

function outboxRequest(sessionId: string, messageId: string): TurnRequest {
  const r = turnRequest(sessionId, sessionId, messageId);
  return { ...r, inbound: { ...r.inbound, botId: BOT } };
}

async function pendingCount(ingress: Ingress, prefix: string): Promise<number> {
  const summary = (await ingress.client.xpending(outboxKeys(prefix, BOT).stream, OUTBOX_DEFAULTS.group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

async function setup(tag: string, env: Record<string, string> = {}, model?: string, claimIdleMs = CLAIM_IDLE_MS) {
  const { prefix, queueName } = uniqueNames(tag);
  const workerEnv = await makeEnv({ prefix, queueName, concurrency: 4, ...(model ? { model } : {}) }, env);
  const ingress = await Ingress.open(prefix, queueName); // enqueues; consumes only its own bot
  const platform = await new FakePlatform().start();
  platforms.add(platform);
  const child = (name: string) => new IngressChild(name, { prefix, queueName, platformUrl: platform.url, claimIdleMs });
  return { prefix, queueName, workerEnv, ingress, platform, child };
}

describe('durable delivery outbox', () => {
  it('ingress processes SIGKILLed mid-send: the others deliver every reply; a reply repeats only after a kill between send and record, and each repeat is counted', async () => {
    const { prefix, workerEnv, ingress, platform, child } = await setup('obkill');
    platform.delayMs = () => 20 + Math.random() * 30; // sends take a while: kills land mid-send
    await Promise.all([startWorker('w1', workerEnv).ready(), startWorker('w2', workerEnv).ready()]);
    const live = [child('a'), child('b')];
    await Promise.all(live.map((c) => c.ready()));

    const SESSIONS = 20;
    const PER_SESSION = 15;
    const total = SESSIONS * PER_SESSION;
    const sending = (async () => {
      for (let m = 0; m < PER_SESSION; m++) {
        for (let s = 0; s < SESSIONS; s++) await ingress.queue.enqueue(outboxRequest(`bot_ob_${s}`, `s${s}-m${m}`));
        await sleep(40);
      }
    })();

    // Twice: wait until an ingress process has a send in flight at the platform (received,
    // not yet answered), SIGKILL it there, and start a replacement. The second kill does not
    // wait for the first replacement to start (a process start can outlast the whole run on a
    // slow machine): the survivor is still sending, and if it is the second victim, nobody
    // consumes the outbox until the replacements are up.
    let kills = 0;
    let next = 0;
    const killed: IngressChild[] = [];
    const starting: Promise<unknown>[] = [];
    for (const threshold of [total / 5, total / 2]) {
      await waitFor(`${threshold} sends`, () => platform.sends.length >= threshold, { timeoutMs: 60_000, intervalMs: 5 });
      const victim = await waitFor('an ingress process with a send in flight', () => live.find((c) => (platform.inFlight.get(c.name) ?? 0) > 0), {
        timeoutMs: 20_000,
        intervalMs: 1,
        explain: () => `${platform.sends.length} of ${total} replies sent so far`,
      });
      await victim.kill();
      kills++;
      killed.push(victim);
      live.splice(live.indexOf(victim), 1);
      const replacement = child(`r${next++}`);
      live.push(replacement);
      starting.push(replacement.ready());
    }
    await Promise.all(starting);
    await sending;

    const ids = range(SESSIONS).flatMap((s) => range(PER_SESSION).map((m) => `s${s}-m${m}`));
    await waitFor('every reply delivered', () => ids.every((id) => platform.countsById().has(id)), { timeoutMs: 90_000, intervalMs: 100 });
    await waitFor('every outbox entry acknowledged', async () => (await pendingCount(ingress, prefix)) === 0, { timeoutMs: 20_000 });

    // Every send carries the committed reply (I4 by the echo model: reply k says `turn k`).
    for (const s of platform.sends) expect(s.text, s.messageId).toMatch(/^\[echo\] turn \d+: you said "/);
    for (const sid of range(SESSIONS)) {
      const entries = await ingress.entries(`bot_ob_${sid}`);
      expect(entries).toHaveLength(PER_SESSION * 2);
      const reply = new Map(range(PER_SESSION).map((i) => [String(entries[2 * i]!.metadata?.message_id), entries[2 * i + 1]!.content]));
      for (const send of platform.sends.filter((x) => x.sessionId === `bot_ob_${sid}`)) expect(send.text).toBe(reply.get(send.messageId));
    }

    // I6: repeats only where a survivor counted an interrupted send, and the killed processes
    // were really interrupted mid-send (each had a send in flight), so at least one repeat.
    // Counted by whichever process repeated the send (a replacement that repeated one may have
    // been killed itself later: its stdout was read before the kill).
    const announced = [...live, ...killed].flatMap((c) => c.eventsOf('possible_duplicate').map((e) => e.inboundId));
    const counted = new Set(announced);
    const repeated = [...platform.countsById()].filter(([, n]) => n > 1);
    for (const [id, n] of repeated) {
      expect(n, `${id} sent ${n} times`).toBeLessThanOrEqual(1 + kills);
      expect(counted.has(`${BOT}:${id}`), `repeat of ${id} not counted`).toBe(true);
    }
    expect(repeated.length).toBeGreaterThanOrEqual(1);
    // Every repeated send was announced: a send that may repeat an unrecorded one is counted
    // first (an announcement need not repeat: the killed attempt may never have reached the
    // platform). A reply re-claimed twice can be sent three times, so count sends, not ids.
    const repeatSends = repeated.reduce((k, [, n]) => k + n - 1, 0);
    expect(repeatSends, 'repeated sends that no process announced').toBeLessThanOrEqual(announced.length);
    expect(platform.sends.filter((x) => !ids.includes(x.messageId)), 'sends of replies nobody asked for').toEqual([]);
    // The killed processes' entries were taken over by live ones.
    expect(live.flatMap((c) => c.eventsOf('claimed')).length).toBeGreaterThanOrEqual(1);
    expect(kills).toBe(2);
    console.info(`outbox kill test: ${total} replies, ${kills} ingress kills mid-send, ${repeated.length} replies repeated (${repeatSends} repeat sends, ${announced.length} announced), killed processes had sent ${killed.map((k) => platform.sends.filter((s) => s.by === k.name).length).join(' and ')}`);
  }, 150_000);

  it('two live ingress processes for one bot: every reply is sent exactly once', async () => {
    const { prefix, workerEnv, ingress, platform, child } = await setup('obtwo');
    await startWorker('w1', workerEnv).ready();
    const [a, b] = [child('a'), child('b')];
    await Promise.all([a.ready(), b.ready()]);
    const ids: string[] = [];
    for (let m = 0; m < 10; m++) {
      for (let s = 0; s < 20; s++) {
        ids.push(`s${s}-m${m}`);
        await ingress.queue.enqueue(outboxRequest(`bot_ob2_${s}`, `s${s}-m${m}`));
      }
    }
    await waitFor('every reply delivered', () => ids.every((id) => platform.countsById().has(id)), { timeoutMs: 60_000 });
    await waitFor('every outbox entry acknowledged', async () => (await pendingCount(ingress, prefix)) === 0);
    await sleep(500); // a late second send would show up here
    expect([...platform.countsById()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(platform.sends).toHaveLength(ids.length);
    expect([...a.events, ...b.events].filter((e) => e.event === 'possible_duplicate')).toEqual([]);
    // Acknowledged entries are trimmed (MINID ~ keeps at most a partly filled stream node).
    expect(await ingress.client.xlen(outboxKeys(prefix, BOT).stream)).toBeLessThan(ids.length);
  }, 90_000);

  it('no ingress process running while the worker finishes: the reply waits in the outbox and is delivered once on restart', async () => {
    const holdMs = 1500;
    suite.fake.setResponder(async (body) => {
      await sleep(holdMs);
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      return `slow answer after ${users.length} user turn(s)`;
    });
    const { prefix, workerEnv, ingress, platform, child } = await setup('obdown', fakeModelEnv(suite.fake.url), 'fake-model');
    await startWorker('w1', workerEnv).ready();
    const first = child('a');
    await first.ready();
    await ingress.queue.enqueue(outboxRequest('bot_ob_down', 'd1'));
    await ingress.queue.enqueue(outboxRequest('bot_ob_down', 'd2'));
    await first.kill(); // the model is still thinking about d1

    const stream = outboxKeys(prefix, BOT).stream;
    await waitFor('both replies committed and waiting in the outbox', async () => (await ingress.client.xlen(stream)) === 2, { timeoutMs: 20_000 });
    await sleep(300);
    expect(platform.sends).toEqual([]);

    const second = child('b');
    await second.ready();
    await waitFor('both replies delivered', () => platform.sends.length === 2, { timeoutMs: 10_000 });
    await sleep(500);
    expect(platform.sends.map((s) => [s.messageId, s.text, s.by])).toEqual([
      ['d1', 'slow answer after 1 user turn(s)', 'b'],
      ['d2', 'slow answer after 2 user turn(s)', 'b'],
    ]);
    await waitFor('acknowledged', async () => (await pendingCount(ingress, prefix)) === 0);
  }, 60_000);

  it('SIGTERM hands replies whose send never began back at once; one whose send hung is taken over after the claim time and counted', async () => {
    const { prefix, workerEnv, ingress, platform, child } = await setup('obterm', {}, undefined, 10_000);
    // Process a's sends hang (until it is gone); everyone else's are answered at once.
    platform.delayMs = (by) => (by === 'a' ? 60_000 : 0);
    await startWorker('w1', workerEnv).ready();
    const a = child('a');
    await a.ready();
    // One session: a delivers its replies in order, so t1..t4 wait behind the hanging t0.
    for (let i = 0; i < 5; i++) await ingress.queue.enqueue(outboxRequest('bot_ob_term', `t${i}`));
    await waitFor('a to hold all five, sending the first', async () => platform.inFlight.get('a') === 1 && (await pendingCount(ingress, prefix)) === 5, { timeoutMs: 15_000 });
    const b = child('b');
    await b.ready();

    await a.kill('SIGTERM');
    expect(a.proc.exitCode).toBe(0);
    const exitedAt = Date.now();
    await waitFor('the four never-started replies sent by b', () => range(4).every((i) => platform.sends.some((s) => s.messageId === `t${i + 1}` && s.by === 'b')), { timeoutMs: 5_000 });
    expect(Date.now() - exitedAt, 'handed back, not waited out').toBeLessThan(5_000);
    // The hung one: a may have sent it, so b takes it only after the claim time, and counts the repeat.
    await waitFor('t0 taken over', () => platform.sends.some((s) => s.messageId === 't0' && s.by === 'b'), { timeoutMs: 20_000 });
    expect(b.eventsOf('possible_duplicate').map((e) => e.inboundId)).toEqual([`${BOT}:t0`]);
    expect(platform.sends.filter((s) => s.messageId === 't0').map((s) => s.by)).toEqual(['a', 'b']);
    for (let i = 1; i < 5; i++) expect(platform.sends.filter((s) => s.messageId === `t${i}`).map((s) => s.by), `t${i}`).toEqual(['b']);
    // b delivered the rest in session order.
    expect(platform.sends.filter((s) => s.by === 'b' && s.messageId !== 't0').map((s) => s.messageId)).toEqual(['t1', 't2', 't3', 't4']);
    await waitFor('acknowledged', async () => (await pendingCount(ingress, prefix)) === 0);
  }, 60_000);
});
