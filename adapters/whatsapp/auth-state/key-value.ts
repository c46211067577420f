/**
 * The seam between the linked device's state and where it lives. A backend is an
 * `AtomicKeyValue`: a flat namespace of string keys holding JSON text, read in batches and
 * written in batches that are atomic as a whole (one MULTI on Redis, one transaction on
 * Postgres; on files each item is atomic — temp file, fsync, rename, fsync directory).
 *
 * Keys are baileys' multi-file names without `.json`: `creds`, `pre-key-12`, `session-4915…_1.0`,
 * `lid-mapping-4915…`, `lid-mapping-1234…_reverse`, … — so a folder written by baileys'
 * `useMultiFileAuthState` is read as is, and `import-auth` copies it item by item.
 */

export interface AtomicKeyValue {
  /** Values for `keys`, in order; null where a key has no value. */
  get(keys: readonly string[]): Promise<(string | null)[]>;
  /**
   * Writes (value) and deletes (null) all of `changes` in one atomic step: after a crash either
   * all of them are visible or none (files: each item is, see `FileKeyValue`).
   */
  apply(changes: ReadonlyArray<readonly [key: string, value: string | null]>): Promise<void>;
  /** Every key present (import, logout, tests). */
  keys(): Promise<string[]>;
  /** Removes everything in this namespace (logout, a 401 "logged out"). */
  clear(): Promise<void>;
  /** For logs: `file /home/…/.bothost/whatsapp/support`, `redis wa-auth:{support}` (no credentials). */
  readonly describe: string;
}

/**
 * Where namespaced key-value stores come from when bots.yaml configures Redis or Postgres. The
 * narrowest host addition this adapter needs (proposed as `AdapterHost.keyValue` and the same
 * field on an action's context); absent: the file backend.
 */
export interface KeyValueSource {
  /** `name` is `whatsapp-auth:<bot id>`; implementations keep namespaces apart. */
  namespace(name: string): AtomicKeyValue;
  readonly describe: string;
}

/** The `keyValue` field of a host or action context, when the host provides one. */
export function keyValueSourceOf(context: object | undefined): KeyValueSource | undefined {
  const kv = (context as { keyValue?: unknown } | undefined)?.keyValue;
  return kv && typeof (kv as KeyValueSource).namespace === 'function' ? (kv as KeyValueSource) : undefined;
}
