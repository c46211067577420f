/**
 * baileys' `AuthenticationState` (creds + every signal key type) over an `AtomicKeyValue`:
 * each `keys.set` is one `apply` (item by item, never the whole state rewritten), `saveCreds`
 * writes `creds` alone. `flush()` waits for every write issued so far — the adapter calls it
 * before reconnecting after a 515 "restart required", so the new socket logs in with the
 * credentials the pairing just produced.
 */
import { BufferJSON, initAuthCreds, proto, type AuthenticationCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore } from 'baileys';
import { StoreError } from '../../../src/core/errors.js';
import type { AdapterLogger } from '../../../src/core/adapter.js';
import { describeStore, type AtomicKeyValue } from './key-value.js';

export const CREDS_KEY = 'creds';

/** baileys' multi-file name of a signal key, without `.json` (`/` → `__`, `:` → `-`). */
export function storageKey(type: string, id: string): string {
  return `${type}-${id}`.replace(/\//g, '__').replace(/:/g, '-');
}

export interface WhatsAppAuthState {
  readonly state: AuthenticationState;
  /** True when the creds name a linked account (`creds.me` set): the bot can connect without login. */
  readonly linked: boolean;
  saveCreds(): Promise<void>;
  /** Resolves once every write issued so far is durable; rejects with the first that failed. */
  flush(): Promise<void>;
  readonly store: AtomicKeyValue;
}

/** Parses `creds` text; a corrupt creds file is an error the operator must act on. */
export function parseCreds(text: string, where: string): AuthenticationCreds {
  try {
    return JSON.parse(text, BufferJSON.reviver) as AuthenticationCreds;
  } catch (err) {
    throw new StoreError(`the WhatsApp credentials in ${where} are not valid JSON (${(err as Error).message}): restore them from a backup or link again with \`npx bot whatsapp login\``, { cause: err });
  }
}

export async function openAuthState(store: AtomicKeyValue, logger: AdapterLogger): Promise<WhatsAppAuthState> {
  const [credsText] = await store.get([CREDS_KEY]);
  const creds: AuthenticationCreds = credsText ? parseCreds(credsText, describeStore(store)) : initAuthCreds();
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const track = (p: Promise<void>): Promise<void> => {
    const t = p.catch((err) => {
      failure ??= err;
      throw err;
    });
    pending.add(t);
    void t.finally(() => pending.delete(t)).catch(() => undefined);
    return t;
  };
  let credsChain: Promise<void> = Promise.resolve();

  const keys: SignalKeyStore = {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const texts = await store.get(ids.map((id) => storageKey(type, id)));
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      ids.forEach((id, i) => {
        const text = texts[i];
        if (text === null || text === undefined) return;
        let value: unknown;
        try {
          value = JSON.parse(text, BufferJSON.reviver);
        } catch {
          // A 0-byte or cut file left by a tool without atomic writes: treated as absent, so
          // baileys renegotiates that session instead of failing every message from the chat.
          logger.warn({ key: storageKey(type, id), store: describeStore(store) }, 'unreadable WhatsApp key ignored (written by a crashed tool?)');
          return;
        }
        if (value === null || value === undefined) return;
        if (type === 'app-state-sync-key') value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
        out[id] = value as SignalDataTypeMap[T];
      });
      return out;
    },
    set(data: SignalDataSet) {
      const changes: Record<string, string | null> = {};
      for (const type of Object.keys(data) as (keyof SignalDataSet)[]) {
        const items = data[type] ?? {};
        for (const id of Object.keys(items)) {
          const value = items[id];
          changes[storageKey(type, id)] = value === null || value === undefined ? null : JSON.stringify(value, BufferJSON.replacer);
        }
      }
      if (Object.keys(changes).length === 0) return Promise.resolve();
      return track(store.set(changes));
    },
    clear: () => store.clear(),
  };

  return {
    state: { creds, keys },
    get linked() {
      return !!creds.me?.id;
    },
    saveCreds() {
      // Serialized: the last creds.update is the one that stays.
      const next = credsChain.then(() => store.set({ [CREDS_KEY]: JSON.stringify(creds, BufferJSON.replacer) }));
      credsChain = next.catch(() => undefined);
      return track(next);
    },
    async flush() {
      await Promise.allSettled([...pending]);
      if (failure) {
        const err = failure;
        failure = undefined;
        throw err;
      }
    },
    store,
  };
}

/** Whether `store` holds linked credentials (no baileys needed beyond JSON). */
export async function isLinked(store: AtomicKeyValue): Promise<boolean> {
  const [text] = await store.get([CREDS_KEY]);
  if (!text) return false;
  try {
    return !!(JSON.parse(text) as { me?: { id?: string } }).me?.id;
  } catch {
    return false;
  }
}
