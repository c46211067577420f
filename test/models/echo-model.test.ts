import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/core/session-store.js';
import { createEchoModel, echoReply } from '../../src/models/echo-model.js';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const deltas: string[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

describe('echo model', () => {
  it('describes itself as offline', () => {
    expect(createEchoModel().description).toBe('echo (offline)');
  });

  it('answers the first turn with the exact text, streamed in several deltas', async () => {
    const deltas = await collect(createEchoModel().stream({ messages: [user('hello there, echo model')] }));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('[echo] turn 1: you said "hello there, echo model"');
  });

  it('is deterministic: the same conversation gives the same deltas', async () => {
    const messages = [user('one'), assistant('r1'), user('two')];
    const first = await collect(createEchoModel().stream({ messages }));
    const second = await collect(createEchoModel().stream({ messages }));
    expect(second).toEqual(first);
  });

  it('counts only user messages and remembers the first one', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'be nice' },
      user('first!'),
      assistant('a'),
      user('second'),
      assistant('b'),
      user('third'),
    ];
    expect(echoReply(messages)).toBe(
      '[echo] turn 3: you said "third" I remember 2 earlier message(s) from you; the first was "first!".',
    );
  });

  it('recalls a name given earlier when asked about it', () => {
    const reply = echoReply([user('Hi, my name is Ada Lovelace.'), assistant('hi'), user("What's my name?")]);
    expect(reply).toBe(
      '[echo] turn 2: you said "What\'s my name?" I remember 1 earlier message(s) from you; the first was "Hi, my name is Ada Lovelace.". Your name is Ada Lovelace.',
    );
  });

  it('uses the latest introduction and handles non-Latin names', () => {
    const reply = echoReply([user('my name is Ada'), user('actually MY NAME IS Zoë-Jürgen!'), user('name?')]);
    expect(reply.endsWith(' Your name is Zoë-Jürgen.')).toBe(true);
  });

  it('does not recall the name unless asked, nor when the newest message introduces one', () => {
    expect(echoReply([user('my name is Ada'), user('how are you?')])).not.toContain('Your name is');
    expect(echoReply([user('my name is Ada'), user('no, my name is Bob')])).not.toContain('Your name is');
    expect(echoReply([user('what is my name?')])).not.toContain('Your name is');
  });

  it('truncates long quotes to 200 code points with an ellipsis, never splitting an emoji', () => {
    const long = '😀'.repeat(500);
    const quoted = /you said "([^"]*)"/u.exec(echoReply([user(long)]))?.[1] ?? '';
    expect(Array.from(quoted)).toHaveLength(200);
    expect(quoted.endsWith('😀…')).toBe(true);
    expect(echoReply([user('x'.repeat(200))])).toContain(`"${'x'.repeat(200)}"`);
  });

  it('throws an AbortError without yielding when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const deltas: string[] = [];
    const run = async () => {
      for await (const d of createEchoModel().stream({ messages: [user('hi')], signal: controller.signal })) deltas.push(d);
    };
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' });
    expect(deltas).toEqual([]);
  });

  it('stops mid-stream when aborted between deltas', async () => {
    const messages = [user('a b c d e f g h i j k l m n o p')];
    const all = await collect(createEchoModel().stream({ messages }));
    const controller = new AbortController();
    const seen: string[] = [];
    const run = async () => {
      for await (const d of createEchoModel().stream({ messages, signal: controller.signal })) {
        seen.push(d);
        controller.abort(new Error('user pressed stop'));
      }
    };
    await expect(run()).rejects.toThrow('user pressed stop');
    expect(seen).toHaveLength(1);
    expect(all.length).toBeGreaterThan(1);
  });
});
