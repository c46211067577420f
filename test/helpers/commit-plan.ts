/**
 * The commit-under-load plans of T18 (Redis) and T19 (Postgres), and the check of their results:
 * the same contract on both backends, so one plan shape and one checker.
 */
import { expect } from 'vitest';
import type { CommitResult } from '../../src/core/session-store.js';

export type CommitKind = 'original' | 'duplicate' | 'stale';

export interface PlannedCommit {
  kind: CommitKind;
  inboundId: string;
  fence?: number;
}

/**
 * A deterministic plan, in blocks of 10: 7 originals, 1 stale, 2 duplicates, shuffled within
 * each block (the first block keeps its originals first). Stale commits have fresh ids, so only
 * the fence can reject them. Duplicates reuse an id from the last 300 slots, well inside the
 * 1000 ids the store remembers even with commits reordered by concurrency. Valid commits carry
 * the current fence (`fencesIssued`) or none (a commit without a lease is allowed).
 */
export function makeCommitPlan(commits: number, fencesIssued: number, seed: number): PlannedCommit[] {
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const block: CommitKind[] = ['original', 'original', 'original', 'original', 'original', 'original', 'original', 'stale', 'duplicate', 'duplicate'];
  const plan: PlannedCommit[] = [];
  for (let b = 0; b < commits / 10; b++) {
    const kinds = [...block];
    for (let i = kinds.length - 1; b > 0 && i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    for (const kind of kinds) {
      const i = plan.length;
      const validFence = rand() < 0.5 ? { fence: fencesIssued } : {};
      if (kind === 'stale') plan.push({ kind, inboundId: `st${i}`, fence: 1 + Math.floor(rand() * (fencesIssued - 1)) });
      else if (kind === 'original') plan.push({ kind, inboundId: `in${i}`, ...validFence });
      else {
        // A recent original; with several writers it is often another writer's, in flight at
        // about the same time: ids race across writers too.
        const recent = plan.slice(Math.max(0, i - 300)).filter((p) => p.kind === 'original');
        plan.push({ kind, inboundId: pick(recent).inboundId, ...validFence });
      }
    }
  }
  return plan;
}

/**
 * Checks `results[i]` (the answer to `plan[i]`): every stale commit rejected with the highest
 * fence; each inbound id (its original plus its redeliveries, racing) committed exactly once as
 * a user+assistant pair, every other attempt a duplicate pointing at that commit's first cursor;
 * the committed cursors are 1..2N with no gap. Returns the inbound ids (with the plan indexes
 * that carried each) and N × 2.
 */
export function checkCommitResults(plan: PlannedCommit[], results: CommitResult[], fencesIssued: number): { groups: Map<string, number[]>; total: number } {
  const commits = plan.length;
  expect(results.filter(Boolean)).toHaveLength(commits);
  const stale = plan.flatMap((p, i) => (p.kind === 'stale' ? [results[i]] : []));
  expect(stale).toHaveLength(commits / 10);
  for (const r of stale) expect(r).toEqual({ status: 'stale_fence', highestFence: fencesIssued });

  const groups = new Map<string, number[]>();
  plan.forEach((p, i) => p.kind !== 'stale' && groups.set(p.inboundId, [...(groups.get(p.inboundId) ?? []), i]));
  expect(plan.filter((p) => p.kind === 'duplicate')).toHaveLength(commits / 5);
  const committedCursors: number[] = [];
  let duplicates = 0;
  for (const members of groups.values()) {
    const rs = members.map((i) => results[i]!);
    const committed = rs.filter((r) => r.status === 'committed');
    expect(committed, `inbound id committed ${committed.length} times: ${JSON.stringify(committed)}`).toHaveLength(1);
    const cursors = (committed[0] as { cursors: number[] }).cursors;
    expect(cursors[1]).toBe(cursors[0]! + 1);
    committedCursors.push(...cursors);
    for (const r of rs) if (r.status !== 'committed') expect(r).toEqual({ status: 'duplicate', cursor: cursors[0] });
    duplicates += rs.length - 1;
  }
  expect(duplicates).toBe(commits / 5);
  expect(groups.size).toBe(commits - commits / 10 - commits / 5);

  const total = groups.size * 2;
  expect(committedCursors.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  return { groups, total };
}
