/**
 * Who owns a gateway session, decided atomically with the store's writes.
 *
 * A session belongs to the identity in its `gw.owner`. It is claimed by compare-and-merge
 * (`updateMetadataIf` with owner absent), so of two identities creating one id exactly one wins;
 * and every write a client makes to it afterwards expects its owner to still be that identity,
 * so a session deleted (operator, purge, lost store) while its owner is connected is never
 * recreated by that owner's socket without an owner for someone else to claim.
 *
 * A session without an owner that has entries (a turn committed after its session was deleted)
 * belongs to nobody: it cannot be claimed, and the purge removes it.
 */
import type { Metadata, SessionInfo, SessionLog } from '../core/session-store.js';
import { META } from './constants.js';

export type Ownership =
  /** The identity owns it; `info` is what the store holds now. */
  | { status: 'owned'; info: SessionInfo; claimed: boolean }
  /** Another identity owns it, or nobody can (ownerless with entries). */
  | { status: 'forbidden' };

export interface Claim {
  key: string;
  sessionId: string;
  identity: string;
  agent: string;
}

/** Resolve `info` (null: missing) for `identity`, claiming the session when it is free. */
export async function claimOrCheck(store: Pick<SessionLog, 'getSession' | 'updateMetadataIf'>, info: SessionInfo | null, c: Claim): Promise<Ownership> {
  const owner = info?.metadata[META.owner];
  const recordedId = info?.metadata[META.sessionId];
  // A hashed key (see webSessionKey) naming another id: never served as this one.
  if (recordedId !== undefined && recordedId !== c.sessionId) return { status: 'forbidden' };
  if (owner !== undefined) return owner === c.identity ? { status: 'owned', info: info!, claimed: false } : { status: 'forbidden' };
  if ((info?.lastCursor ?? 0) > 0) return { status: 'forbidden' };
  const claimed = await store.updateMetadataIf(c.key, { [META.owner]: null }, {
    [META.owner]: c.identity,
    [META.agent]: c.agent,
    [META.sessionId]: c.sessionId,
    [META.seenAt]: Date.now(),
  });
  const now = await store.getSession(c.key);
  if (!now || now.metadata[META.owner] !== c.identity) return { status: 'forbidden' };
  if (claimed && now.lastCursor > 0) {
    // Entries were committed between the read and the claim: they are not this identity's.
    await store.updateMetadataIf(c.key, { [META.owner]: c.identity }, { [META.owner]: null });
    return { status: 'forbidden' };
  }
  return { status: 'owned', info: now, claimed };
}

/** A write by `identity` to its session: applied only while the session exists and is still its own. */
export function writeAsOwner(store: Pick<SessionLog, 'updateMetadataIf'>, key: string, identity: string, patch: Metadata): Promise<boolean> {
  return store.updateMetadataIf(key, { [META.owner]: identity }, patch);
}
