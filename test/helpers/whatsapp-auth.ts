/**
 * Linked test identities for the WhatsApp tests: a baileys `initAuthCreds()` with `me` set, as
 * a finished `login` leaves it, written in baileys' multi-file layout (or into any auth store).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BufferJSON, initAuthCreds, type AuthenticationCreds } from 'baileys';
import type { AtomicKeyValue } from '../../src/core/key-value.js';

export function linkedCreds(me: { id: string; lid?: string; name?: string }): AuthenticationCreds {
  const creds = initAuthCreds();
  creds.me = { id: me.id, ...(me.lid ? { lid: me.lid } : {}), name: me.name ?? 'bot' };
  creds.registered = true;
  return creds;
}

/** Writes `creds.json` for a linked device into `dir` (baileys' multi-file layout). */
export async function writeLinkedAuthDir(dir: string, me: { id: string; lid?: string; name?: string }): Promise<AuthenticationCreds> {
  await mkdir(dir, { recursive: true });
  const creds = linkedCreds(me);
  await writeFile(path.join(dir, 'creds.json'), JSON.stringify(creds, BufferJSON.replacer));
  return creds;
}

export async function writeLinkedStore(store: AtomicKeyValue, me: { id: string; lid?: string; name?: string }): Promise<AuthenticationCreds> {
  const creds = linkedCreds(me);
  await store.set({ creds: JSON.stringify(creds, BufferJSON.replacer) });
  return creds;
}
