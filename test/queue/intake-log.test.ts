/** The embedded intake's files: durable accept, done, dedupe, rotation, adoption of a dead process's turns. */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TurnRequest } from '../../src/core/turn-queue.js';
import { DurableTurnQueue } from '../../src/queue/durable-turn-queue.js';
import { FileIntake, unansweredIn } from '../../src/queue/intake-log.js';
import { createProcessLock } from '../../src/sessions/process-lock.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const tmp = new TempDirs();
afterEach(() => tmp.removeAll());

const req = (id: string, botId = 'bot'): TurnRequest => ({
  sessionId: `s-${id}`,
  agent: 'assistant',
  inbound: { platform: 'test', botId, chatId: 'c', userId: 'u', messageId: id, text: `text ${id}`, isDirect: true, mentionsBot: true, receivedAt: 1 },
});
const open = (dir: string, rotateBytes?: number) => new FileIntake({ dir, lock: createProcessLock(), ...(rotateBytes ? { rotateBytes } : {}) });
const files = async (dir: string) => (existsSync(dir) ? (await fsp.readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort() : []);
const read = async (dir: string) => (await Promise.all((await files(dir)).map((n) => fsp.readFile(path.join(dir, n), 'utf8')))).join('');

describe('FileIntake', () => {
  it('an accepted turn is on disk when `durable` resolves; done marks it; close removes files and directory', async () => {
    const dir = path.join(await tmp.make(), '.intake');
    const intake = open(dir);
    const a = intake.accept(req('1'));
    expect(a.fresh).toBe(true);
    await a.durable;
    expect(unansweredIn(await read(dir)).map((r) => r.inbound.messageId)).toEqual(['1']);
    intake.done(req('1'));
    await waitFor('the done record', async () => unansweredIn(await read(dir)).length === 0);
    await intake.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('processes opening intakes while others close them (and remove the empty directory) all get their file', async () => {
    const dir = path.join(await tmp.make(), '.intake');
    // Like several short `bot chat` processes on one store, each answering a turn per round.
    const child = path.join(HERE, '..', 'helpers', 'intake-child.mjs');
    const dist = path.join(HERE, '..', '..', 'dist');
    const runs = Array.from({ length: 6 }, (_, i) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const proc = spawn(process.execPath, [child, dist, dir, `p${i}`, '40'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        proc.on('exit', (code) => resolve({ code, stderr }));
      }),
    );
    for (const r of await Promise.all(runs)) expect(r.code, r.stderr).toBe(0);
    expect(await files(dir)).toEqual([]);
  }, 60_000);

  it('the same inbound id pending twice is recorded once', async () => {
    const dir = await tmp.make();
    const intake = open(dir);
    const first = intake.accept(req('1'));
    const second = intake.accept(req('1'));
    expect(second.fresh).toBe(false);
    await Promise.all([first.durable, second.durable]);
    expect((await read(dir)).trim().split('\n')).toHaveLength(1);
    await intake.close();
  });

  it('rotates past rotateBytes and deletes a rotated file once its turns are answered', async () => {
    const dir = await tmp.make();
    const intake = open(dir, 300);
    const requests = Array.from({ length: 6 }, (_, i) => req(String(i)));
    for (const r of requests) await intake.accept(r).durable;
    expect((await files(dir)).length).toBeGreaterThan(1);
    for (const r of requests) intake.done(r);
    await waitFor('rotated files deleted', async () => (await files(dir)).length <= 1); // only the current file, if any
    await intake.close();
    expect(await files(dir)).toEqual([]);
  });

  it("takes over a dead writer's unanswered turns in order, only for its bot, and deletes the orphan", async () => {
    const dir = await tmp.make();
    const dead = open(dir);
    for (const id of ['1', '2', '3']) await dead.accept(req(id)).durable;
    await dead.accept(req('x', 'other-bot')).durable;
    dead.done(req('2'));
    await waitFor('the done record', async () => unansweredIn(await read(dir)).length === 3);
    const live = open(dir);
    expect(await live.adoptOrphans('bot', async () => undefined)).toBe(0); // its writer is alive
    await dead.close(); // lets go of its files, as a killed process does

    const taken: string[] = [];
    const adopter = open(dir);
    const n = await adopter.adoptOrphans('bot', async (requests) => {
      for (const r of requests) await adopter.accept(r).durable;
      taken.push(...requests.map((r) => r.inbound.messageId));
    });
    expect(n).toBe(2);
    expect(taken).toEqual(['1', '3']);
    expect(unansweredIn(await read(dir)).map((r) => `${r.inbound.botId}:${r.inbound.messageId}`).sort()).toEqual(['bot:1', 'bot:3', 'other-bot:x']);
    expect(await adopter.adoptOrphans('bot', async () => undefined)).toBe(0); // nothing left to take
    await Promise.all([live.close(), adopter.close()]);
  });

  it('a torn last line (a crash mid-write) is ignored', () => {
    const good = JSON.stringify({ t: 'a', id: 'bot:1', r: req('1') });
    expect(unansweredIn(`${good}\n{"t":"a","id":"bot:2","r":{"sess`).map((r) => r.inbound.messageId)).toEqual(['1']);
  });
});

describe('DurableTurnQueue', () => {
  it('recovered turns are queued before anything enqueued after recovery began', async () => {
    const dir = await tmp.make();
    const dead = open(dir);
    for (const id of ['1', '2']) await dead.accept(req(id)).durable;
    await dead.close();

    const order: string[] = [];
    const intake = open(dir);
    const queue = new DurableTurnQueue({ enqueue: async (r) => void order.push(r.inbound.messageId), close: async () => undefined }, intake);
    const recovered = queue.recover('bot');
    await queue.enqueue(req('3'));
    expect(await recovered).toBe(2);
    expect(order).toEqual(['1', '2', '3']);
    await queue.enqueue(req('3')); // pending already: queued once
    expect(order).toEqual(['1', '2', '3']);
    await queue.close();
  });
});
