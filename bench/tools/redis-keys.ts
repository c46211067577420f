/** Cleaning up after a bench run on the shared Redis. */
import type { Redis } from 'ioredis';

/** Unlinks every key under `prefix:` (a run's store, inboxes and, with the host's queue, its BullMQ keys). */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await client.unlink(...keys);
  } while (cursor !== '0');
}
