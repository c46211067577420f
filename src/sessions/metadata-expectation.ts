/** The comparison behind `SessionLog.updateMetadataIf`, shared by the stores that merge in JavaScript. */
import type { Metadata } from '../core/session-store.js';

/** True when every key of `expected` holds that value in `current` (null: the key is absent); values compare by JSON. */
export function metadataMatches(current: Metadata, expected: Metadata): boolean {
  for (const [key, want] of Object.entries(expected)) {
    const has = Object.hasOwn(current, key) && current[key] !== undefined && current[key] !== null;
    if (want === null || want === undefined) {
      if (has) return false;
    } else if (!has || JSON.stringify(current[key]) !== JSON.stringify(want)) {
      return false;
    }
  }
  return true;
}
