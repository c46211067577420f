/**
 * Loads a CommonJS dependency on first use, synchronously (so a constructor can use it): the
 * library entry then costs no more than what a program actually uses — importing `bothost` for
 * the file store never loads the Redis or Postgres client.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
