/**
 * The property test of the hierarchy: random sequences of append / fork / snapshot / revert /
 * clear / delete run against a HierarchicalSessionStore and against a plain in-memory model
 * (arrays copied on fork), and every session's history must be identical in both — messages
 * and cursors. Seeded; a failure names the seed and the operations that led to it.
 */
import { expect } from 'vitest';
import type { HierarchicalSessionStore } from '../../src/sessions/hierarchy/hierarchical-session-store.js';

interface Msg {
  cursor: number;
  role: string;
  content: string;
}

interface ModelSession {
  history: Msg[];
  /** Highest cursor ever shown; new messages continue after it. */
  issued: number;
  snapshots: Map<string, Msg[]>;
  children: Set<string>;
  parent?: string;
}

/** mulberry32: small, fast, good enough to drive tests reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runRandomSequence(h: HierarchicalSessionStore, seed: number, ops: number, idPrefix: string): Promise<void> {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const model = new Map<string, ModelSession>();
  const log: string[] = [];
  let counter = 0;
  const fresh = () => `${idPrefix}${seed}-${counter++}`;

  const root = fresh();
  await h.createSession({ id: root, title: 'root' });
  model.set(root, { history: [], issued: 0, snapshots: new Map(), children: new Set() });

  const check = async (id: string, step: string) => {
    const m = model.get(id)!;
    const entries = (await h.getEntries(id)).map(({ cursor, role, content }) => ({ cursor, role, content }));
    expect(entries, step).toEqual(m.history);
    const n = 1 + Math.floor(rnd() * 6);
    expect(await h.getChatHistory(id, n), step).toEqual(m.history.slice(-n).map(({ role, content }) => ({ role, content })));
    const after = m.history.length ? pick(m.history).cursor : 0;
    expect((await h.getEntries(id, { after, limit: 3 })).map((e) => e.cursor), step).toEqual(m.history.filter((x) => x.cursor > after).slice(0, 3).map((x) => x.cursor));
    const info = await h.getSession(id);
    expect(info?.messageCount, step).toBe(m.history.length);
  };

  try {
    for (let i = 0; i < ops; i++) {
      const ids = [...model.keys()];
      const id = pick(ids);
      const m = model.get(id)!;
      const r = rnd();
      let step: string;
      if (r < 0.35) {
        const k = 1 + Math.floor(rnd() * 3);
        const entries = Array.from({ length: k }, (_, j) => ({ role: j % 2 ? 'assistant' : 'user', content: `${id}#${i}.${j}` }) as const);
        step = `append ${id} ×${k}`;
        const res = await h.commitTurn(id, { entries: [...entries] });
        for (const e of entries) m.history.push({ cursor: ++m.issued, role: e.role, content: e.content });
        expect(res.status === 'committed' && res.cursors, step).toEqual(m.history.slice(-k).map((x) => x.cursor));
      } else if (r < 0.5 && model.size < 12) {
        const child = fresh();
        const how = rnd();
        let inherited: Msg[];
        if (how < 0.35 || m.history.length === 0) {
          step = `fork ${id} → ${child} (whole)`;
          await h.forkSession(id, { id: child });
          inherited = [...m.history];
          model.set(child, { history: inherited, issued: m.issued, snapshots: new Map(), children: new Set(), parent: id });
        } else if (how < 0.7) {
          const at = pick(m.history).cursor;
          step = `fork ${id} → ${child} fromCursor ${at}`;
          await h.forkSession(id, { id: child, fromCursor: at });
          inherited = m.history.filter((x) => x.cursor <= at);
          model.set(child, { history: inherited, issued: at, snapshots: new Map(), children: new Set(), parent: id });
        } else {
          const n = Math.floor(rnd() * (m.history.length + 1));
          step = `fork ${id} → ${child} fromMessageIndex ${n}`;
          await h.forkSession(id, { id: child, fromMessageIndex: n });
          inherited = m.history.slice(0, n);
          model.set(child, { history: inherited, issued: n === 0 ? 0 : inherited[n - 1]!.cursor, snapshots: new Map(), children: new Set(), parent: id });
        }
        m.children.add(child);
      } else if (r < 0.62) {
        step = `snapshot ${id}`;
        const snap = await h.createSnapshot(id, `s${i}`);
        m.snapshots.set(snap, [...m.history]);
        step += ` = ${snap}`;
      } else if (r < 0.74 && m.snapshots.size > 0) {
        const snap = pick([...m.snapshots.keys()]);
        step = `revertToSnapshot ${id} ${snap}`;
        await h.revertToSnapshot(id, snap);
        m.history = [...m.snapshots.get(snap)!];
      } else if (r < 0.84 && m.history.length > 0) {
        const at = rnd() < 0.2 ? 0 : pick(m.history).cursor;
        step = `revertToMessage ${id} ${at}`;
        await h.revertToMessage(id, at);
        m.history = m.history.filter((x) => x.cursor <= at);
      } else if (r < 0.92) {
        step = `clear ${id}`;
        await h.clearSession(id);
        m.history = [];
      } else if (m.children.size === 0 && id !== root) {
        step = `delete ${id}`;
        expect(await h.deleteSession(id), step).toBe(true);
        model.delete(id);
        if (m.parent) model.get(m.parent)?.children.delete(id);
        log.push(step);
        continue;
      } else {
        step = `check ${id}`;
      }
      log.push(step);
      await check(id, step);
    }
    for (const [id, m] of model) {
      await check(id, `final ${id}`);
      expect(new Set(await h.getChildren(id)), `children of ${id}`).toEqual(m.children);
    }
  } catch (err) {
    const tail = log.slice(-25).join('\n  ');
    throw new Error(`hierarchy property test failed with seed ${seed} (replay: runRandomSequence(h, ${seed}, ${ops}))\nlast operations:\n  ${tail}\n${(err as Error).message}`, { cause: err });
  }
}
