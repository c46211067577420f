/**
 * Where the hierarchy keeps its state: in the session's own metadata, one key per fact, so
 * that every write is a shallow merge of disjoint keys. Two processes forking the same parent
 * (or snapshotting the same session) at once each add their own `child.<id>` /
 * `snapshot.<id>` key and neither can drop the other's; other metadata keys are never touched.
 *
 *   hierarchy.title            string
 *   hierarchy.parent           { id, cursor, at }    forked from `id` at view cursor `cursor`
 *   hierarchy.view             ViewRange[]           absent: the plain view (own log)
 *   hierarchy.child.<id>       { at }                a fork of this session
 *   hierarchy.snapshot.<id>    SnapshotRecord
 */
import { StoreError } from '../../core/errors.js';
import type { Metadata } from '../../core/session-store.js';
import type { ViewRange } from './view.js';

export const HIERARCHY_KEYS = Object.freeze({
  title: 'hierarchy.title',
  parent: 'hierarchy.parent',
  view: 'hierarchy.view',
  childPrefix: 'hierarchy.child.',
  snapshotPrefix: 'hierarchy.snapshot.',
  /** Every hierarchy key starts with this; exports carry the other keys as user metadata. */
  prefix: 'hierarchy.',
});

export interface ParentLink {
  id: string;
  /** View cursor of the parent the fork was cut at (its last inherited message). */
  cursor: number;
  at: number;
}

export interface SnapshotRecord {
  id: string;
  label: string;
  createdAt: number;
  /** The highest view cursor the session had shown when the snapshot was taken. */
  cursor: number;
  /** Messages in the snapshot. */
  count: number;
  /** The view at that moment, every range closed. */
  ranges: ViewRange[];
}

/** What the hierarchy knows about one session, decoded from its metadata. */
export interface HierarchyState {
  title?: string;
  parent?: ParentLink;
  view?: ViewRange[];
  children: string[];
  snapshots: SnapshotRecord[];
}

function corrupt(sessionId: string, key: string): never {
  throw new StoreError(`session ${JSON.stringify(sessionId.slice(0, 80))}: metadata key "${key}" is not what the session hierarchy wrote; another program may have changed it`);
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function parseRanges(sessionId: string, key: string, value: unknown, open: boolean): ViewRange[] {
  if (!Array.isArray(value)) corrupt(sessionId, key);
  const ranges = value as unknown[];
  ranges.forEach((r, i) => {
    const x = r as Partial<ViewRange>;
    const last = i === ranges.length - 1;
    const uOk = x.u === null ? open && last && x.s === sessionId : isInt(x.u) && x.u >= (x.a ?? Infinity);
    if (typeof x !== 'object' || x === null || typeof x.s !== 'string' || !isInt(x.a) || !isInt(x.b) || !uOk) corrupt(sessionId, key);
  });
  if (open && (ranges.length === 0 || (ranges[ranges.length - 1] as ViewRange).u !== null)) corrupt(sessionId, key);
  return ranges as ViewRange[];
}

export function readHierarchy(sessionId: string, metadata: Metadata): HierarchyState {
  const state: HierarchyState = { children: [], snapshots: [] };
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.startsWith(HIERARCHY_KEYS.prefix)) continue;
    if (key === HIERARCHY_KEYS.title) {
      if (typeof value !== 'string') corrupt(sessionId, key);
      state.title = value;
    } else if (key === HIERARCHY_KEYS.parent) {
      const p = value as Partial<ParentLink>;
      if (typeof p !== 'object' || p === null || typeof p.id !== 'string' || !isInt(p.cursor)) corrupt(sessionId, key);
      state.parent = { id: p.id, cursor: p.cursor, at: Number(p.at ?? 0) };
    } else if (key === HIERARCHY_KEYS.view) {
      state.view = parseRanges(sessionId, key, value, true);
    } else if (key.startsWith(HIERARCHY_KEYS.childPrefix)) {
      state.children.push(key.slice(HIERARCHY_KEYS.childPrefix.length));
    } else if (key.startsWith(HIERARCHY_KEYS.snapshotPrefix)) {
      const s = value as Partial<SnapshotRecord>;
      if (typeof s !== 'object' || s === null || typeof s.id !== 'string' || !isInt(s.cursor) || !isInt(s.count)) corrupt(sessionId, key);
      state.snapshots.push({
        id: s.id,
        label: typeof s.label === 'string' ? s.label : '',
        createdAt: Number(s.createdAt ?? 0),
        cursor: s.cursor,
        count: s.count,
        ranges: parseRanges(sessionId, key, s.ranges, false),
      });
    }
  }
  state.children.sort();
  state.snapshots.sort((x, y) => x.createdAt - y.createdAt || x.cursor - y.cursor || x.id.localeCompare(y.id));
  return state;
}

/** The metadata without the hierarchy's keys (what a user or another feature stored). */
export function userMetadata(metadata: Metadata): Metadata {
  return Object.fromEntries(Object.entries(metadata).filter(([k]) => !k.startsWith(HIERARCHY_KEYS.prefix)));
}
