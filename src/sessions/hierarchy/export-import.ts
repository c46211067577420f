/** Export and import of one session through the store interface (the format is in session-export.ts). */
import { StoreError } from '../../core/errors.js';
import type { Metadata, SessionInfo, SessionLog } from '../../core/session-store.js';
import { HIERARCHY_KEYS as K, userMetadata, type HierarchyState, type SnapshotRecord } from './hierarchy-metadata.js';
import { readView } from './read-view.js';
import { EXPORT_FORMAT, EXPORT_VERSION, runsToRanges, toRuns, unionByCursor, type SessionExport } from './session-export.js';
import { holdsBySource, snapshotHolder, viewHolder } from './holds.js';
import { withOpenRange, type View, type ViewRange } from './view.js';

/** Messages per commit while importing: each chunk is one atomic commit. */
const IMPORT_CHUNK = 500;

export async function exportLoaded(
  store: Pick<SessionLog, 'getEntries'>,
  s: { info: SessionInfo; state: HierarchyState; view: View; shown: SessionInfo },
  window: number,
): Promise<SessionExport> {
  const id = s.info.id;
  const ownLast = s.info.lastCursor;
  const [history, ...snapshots] = await Promise.all([
    readView(store, id, s.view, ownLast, { window }),
    ...s.state.snapshots.map((snap) => readView(store, id, snap.ranges, ownLast, { window })),
  ]);
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: Date.now(),
    session: {
      id,
      ...(s.state.title !== undefined ? { title: s.state.title } : {}),
      createdAt: s.shown.createdAt,
      updatedAt: s.shown.updatedAt,
      lastCursor: s.shown.lastCursor,
      metadata: userMetadata(s.info.metadata),
      ...(s.state.parent ? { parentId: s.state.parent.id, forkedAtCursor: s.state.parent.cursor } : {}),
    },
    messages: unionByCursor([history!, ...snapshots]),
    history: toRuns(history!),
    snapshots: s.state.snapshots.map((snap, i) => ({ id: snap.id, label: snap.label, createdAt: snap.createdAt, cursor: snap.cursor, runs: toRuns(snapshots[i]!) })),
  };
}

/** Writes a checked export into the new session `id`: messages first, then the views that show them. */
export async function importInto(store: Pick<SessionLog, 'commitTurn' | 'updateMetadata'>, id: string, exp: SessionExport): Promise<void> {
  const ownCursorOf = new Map<number, number>();
  for (let i = 0; i < exp.messages.length; i += IMPORT_CHUNK) {
    const chunk = exp.messages.slice(i, i + IMPORT_CHUNK);
    const res = await store.commitTurn(id, {
      entries: chunk.map((m) => ({ role: m.role, content: m.content, metadata: { ...m.metadata, imported_ts: m.ts } })),
    });
    if (res.status !== 'committed') throw new StoreError(`import of ${JSON.stringify(id)}: the store refused a commit (${res.status})`);
    chunk.forEach((m, k) => ownCursorOf.set(m.cursor, res.cursors[k]!));
  }
  const ownLast = exp.messages.length ? ownCursorOf.get(exp.messages[exp.messages.length - 1]!.cursor)! : 0;
  const now = Date.now();
  const history = runsToRanges(id, exp.history, ownCursorOf);
  const patch: Metadata = {
    // Only user metadata: hierarchy keys in a crafted file could point this session's views at
    // another session's log.
    ...userMetadata(exp.session.metadata ?? {}),
    [K.view]: withOpenRange(history, id, ownLast, exp.session.lastCursor),
    // Holds (holds.ts) so later trims keep what the history and the snapshots show.
    ...holdPatch(viewHolder(id), id, history),
    ...(exp.session.title !== undefined ? { [K.title]: exp.session.title } : {}),
  };
  for (const snap of exp.snapshots) {
    const ranges = runsToRanges(id, snap.runs, ownCursorOf);
    const record: SnapshotRecord = {
      id: snap.id,
      label: typeof snap.label === 'string' ? snap.label : '',
      createdAt: Number(snap.createdAt) || now,
      cursor: Number.isSafeInteger(snap.cursor) ? snap.cursor : 0,
      count: ranges.reduce((n, r) => n + (r.u! - r.a), 0),
      ranges,
    };
    patch[K.snapshotPrefix + snap.id] = record;
    Object.assign(patch, holdPatch(snapshotHolder(id, snap.id), id, ranges));
  }
  await store.updateMetadata(id, patch);
}

function holdPatch(key: string, id: string, ranges: readonly ViewRange[]): Metadata {
  const own = holdsBySource(ranges).get(id);
  return own ? { [key]: own } : {};
}
