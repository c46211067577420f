/**
 * A whole session as data, for moving it between stores with its cursors (`bot session
 * migrate`): what `getSession` and `getEntries` say, plus the inbound ids the store remembers
 * and its fence when the backend exposes them. Each backend writes an image with its own
 * `importImage` (see session-transfer.ts); reading one needs only the SessionLog API.
 */
import type { Metadata, SessionEntry, SessionLog } from '../core/session-store.js';

export interface SessionImage {
  id: string;
  createdAt: number;
  updatedAt: number;
  /** Cursor of the newest entry ever committed; the next commit continues after it. */
  lastCursor: number;
  /** Highest fence seen (0 when unknown). */
  fence: number;
  metadata: Metadata;
  /** Kept entries, oldest first, consecutive cursors ending at or below lastCursor. */
  entries: SessionEntry[];
  /** Remembered inbound ids → the first cursor each got, oldest first. */
  inboundIds: Array<[string, number]>;
}

/** A store that can write an image as is; `exists` when it already has that session (nothing changed). */
export interface SessionImporter {
  importImage(image: SessionImage): Promise<'imported' | 'exists'>;
}

/** Reads extras that the SessionLog API does not expose, when a backend can. */
export interface SessionImageExtras {
  inboundIds(sessionId: string): Promise<Array<[string, number]>>;
  fence(sessionId: string): Promise<number>;
}

/** The image of one session, or null when it does not exist. */
export async function readSessionImage(store: SessionLog, sessionId: string, extras?: SessionImageExtras): Promise<SessionImage | null> {
  const info = await store.getSession(sessionId);
  if (!info) return null;
  const [entries, inboundIds, fence] = await Promise.all([
    store.getEntries(sessionId),
    extras?.inboundIds(sessionId) ?? [],
    extras?.fence(sessionId) ?? 0,
  ]);
  return { id: info.id, createdAt: info.createdAt, updatedAt: info.updatedAt, lastCursor: info.lastCursor, fence, metadata: info.metadata, entries, inboundIds };
}

/** The image as a store keeping only `maxMessages` would hold it: the newest entries. */
export function trimImage(image: SessionImage, maxMessages: number): SessionImage {
  return image.entries.length <= maxMessages ? image : { ...image, entries: image.entries.slice(-maxMessages) };
}
