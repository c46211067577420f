/**
 * Where the linked device's state lives: an `AtomicKeyValue` (src/core/key-value.ts) — the
 * host's store when bots.yaml configures Redis or Postgres (`AdapterHost.keyValue`, one MULTI /
 * one transaction per `set`), or `FileKeyValue` (an `auth_dir` folder, each item atomic).
 *
 * Keys are baileys' multi-file names without `.json`: `creds`, `pre-key-12`, `session-4915…_1.0`,
 * `lid-mapping-4915…`, `lid-mapping-1234…_reverse`, … — so a folder written by baileys'
 * `useMultiFileAuthState` is read as is, and `import-auth` copies it item by item.
 */
import type { AtomicKeyValue } from '../../../src/core/key-value.js';

export type { AtomicKeyValue, KeyValueSource } from '../../../src/core/key-value.js';

/** The namespace of the auth state in the host's key-value store (the host adds the bot id). */
export const AUTH_NAMESPACE = 'whatsapp-auth';

/** For logs and messages: where a store keeps the state (never credentials). */
export function describeStore(store: AtomicKeyValue): string {
  return (store as { describe?: string }).describe ?? 'the key-value store of bots.yaml\'s session store (Redis or Postgres)';
}
