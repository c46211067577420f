/**
 * A small atomic key-value map per namespace, kept by the session store's backend (Redis: one
 * hash; Postgres: rows of one table), for adapter state that must live with the sessions — e.g.
 * a WhatsApp linked device's credentials and signal keys, so any process that takes over the
 * bot's connection finds them. The file and memory stores have none (adapters keep files then).
 *
 * Invariant: `set` applies all its entries or none (one MULTI / one transaction), so a crash
 * mid-write never leaves half an update.
 */
export interface AtomicKeyValue {
  /** The values of `keys`, in order (null where absent), read at one moment. */
  get(keys: readonly string[]): Promise<(string | null)[]>;
  /** Writes every entry at once; a null value deletes its key. */
  set(entries: Readonly<Record<string, string | null>>): Promise<void>;
  /** The keys that start with `prefix` (all keys for ''). */
  keys(prefix?: string): Promise<string[]>;
  /** Deletes every key of the namespace. */
  clear(): Promise<void>;
}

/** A store capability: `store.keyValue?.(namespace)`. */
export type KeyValueSource = (namespace: string) => AtomicKeyValue;
