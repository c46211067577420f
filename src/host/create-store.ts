/** Builds the configured session store. Backends that need a server are loaded lazily. */
import { ConfigError } from '../core/errors.js';
import type { SessionLog } from '../core/session-store.js';
import { FileSessionStore, type StoreLogger } from '../sessions/file-session-store.js';
import { MemorySessionStore } from '../sessions/memory-session-store.js';
import type { BotsConfig } from '../config/schema.js';

export async function createStore(config: BotsConfig['store'], logger: StoreLogger): Promise<SessionLog> {
  switch (config.backend) {
    case 'file':
      return new FileSessionStore({ dir: config.path, maxMessages: config.max_messages, logger });
    case 'memory':
      return new MemorySessionStore({ maxMessages: config.max_messages });
    default:
      throw new ConfigError(
        `store.backend "${config.backend}" is not available in this build yet; use "file" (the default) or "memory"`,
        'store.backend',
      );
  }
}
