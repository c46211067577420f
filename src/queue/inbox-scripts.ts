/**
 * The turn worker's inbox scripts (./lua), their arguments and their replies decoded:
 * claimSession (lease + head + what the head's turn reads first), popTurn (finish the head:
 * append its reply to the outbox, remove it, read ahead for the next one) and finishDrain.
 */
import type { Redis } from 'ioredis';
import type { ChatMessage, RedisCommitAccess } from '../core/session-store.js';
import { HIERARCHY_KEYS } from '../sessions/hierarchy/hierarchy-metadata.js';
import { LuaScript } from '../redis/lua-script.js';
import { deadLetterKey, type InboxKeys } from './inbox-keys.js';
import { OUTBOX_DEFAULTS } from './outbox-consumer.js';

const popScript = new LuaScript(new URL('./lua/popTurn-10.lua', import.meta.url));
const finishScript = new LuaScript(new URL('./lua/finishDrain-3.lua', import.meta.url));
const claimScript = new LuaScript(new URL('./lua/claimSession-5.lua', import.meta.url));

/** A pop's answer when the caller no longer holds the lease: stop draining, send nothing more. */
export const LOST = Symbol('lease lost');
/** The pop sent with the commit found no commit (it failed): nothing was changed. */
export const NOT_COMMITTED = Symbol('not committed');

/**
 * What a turn would read first, read ahead by the claim or the previous pop (see runTurn), and
 * the log's length then (a pipelining worker checks it did not change behind its back).
 */
export type Prefetch = { committed: number | null; history: ChatMessage[]; logLength?: number };

/** What the pop script saw: the next head (with its history), or that the inbox emptied and the drain ended. */
export interface Popped {
  next: string | null;
  finished: boolean;
  prefetch?: Prefetch;
  /** The entry behind `next`, when the pop read it. */
  after?: string | null;
  /** The log was not as long as expected (see PopArgs.expectLogLength): the drain must stop. */
  stale?: boolean;
}

export interface Claim {
  fence: number;
  head: string | null;
  /** The entry behind the head. */
  ahead: string | null;
  prefetch?: Prefetch;
  /**
   * The session's history is stitched by the hierarchy (a fork or a revert), so the own log
   * the claim and the pops read ahead is not what its turns read.
   */
  stitched: boolean;
  /** The claim announced the head's start (see InboxScripts' `announceOn`). */
  announced: boolean;
}

/** The pop's arguments: see popTurn-10.lua ARGV[1..6] and ARGV[9]. */
export interface PopArgs {
  inboundId: string;
  head: string;
  token: string;
  /** The outbox message, or with `messageAfter` the part before the cursor. */
  message: string;
  messageAfter?: string;
  dead?: string;
  /** A commit of the next turn follows under the same fence. */
  guard?: boolean;
  /** Read the next turn's history (default true); false when the caller computes it itself. */
  history?: boolean;
  /** The log length the caller expects after this turn's commit (it computed the next history itself). */
  expectLogLength?: number;
}

export class InboxScripts {
  /** The store's meta field of the hierarchy's view (present only on a fork or a revert). */
  private readonly stitchedField: string;
  private readonly historyFromLog: (raw: readonly unknown[]) => ChatMessage[];

  /**
   * `historyWindow`: log entries read ahead for a turn (0: none). `announceOn`: the pub/sub
   * channel prefix (`<prefix>:delivery:`) on which a claim announces its head's start; '' for none.
   * `store`: the session store's Redis layout when it lives on this prefix; without one (a
   * Postgres store) the session keys the scripts read are empty: no history, never stitched.
   */
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly historyWindow: number,
    private readonly announceOn = '',
    store?: RedisCommitAccess,
  ) {
    this.stitchedField = store?.metadataField(HIERARCHY_KEYS.view) ?? '';
    this.historyFromLog = store ? (raw) => store.historyFromLog(raw) : () => [];
  }

  /** Lease, inbox head and what the head's turn reads first, in one round trip; null when the lease is held. */
  async claim(keys: InboxKeys, token: string, ttlMs: number): Promise<Claim | null> {
    const reply = (await claimScript.run(this.client, [keys.lease, keys.meta, keys.inbox, keys.ids, keys.log], [token, ttlMs, this.historyWindow, this.stitchedField, this.announceOn])) as [
      number,
      (string | null)?,
      (string | null)?,
      (string[] | null)?,
      (string | null)?,
      number?,
      number?,
    ];
    const fence = Number(reply[0]);
    if (fence === 0) return null;
    const head = reply[1] ?? null;
    const prefetch = head !== null && this.historyWindow > 0 ? new LazyPrefetch(reply[2] == null ? null : Number(reply[2]), reply[3] ?? [], Number(reply[5]), this.historyFromLog) : undefined;
    return { fence, head, ahead: reply[4] ?? null, stitched: Number(reply[6]) === 1, announced: head !== null && this.announceOn !== '', ...(prefetch ? { prefetch } : {}) };
  }

  /** End the drain if the inbox is empty (flag cleared, lease released): true; false when work arrived. */
  async finish(keys: InboxKeys, token: string): Promise<boolean> {
    return Number(await finishScript.run(this.client, [keys.inbox, keys.kicked, keys.lease], [token])) === 1;
  }

  /** popTurn-10.lua, its reply decoded. */
  async pop(keys: InboxKeys, outboxKey: string, a: PopArgs): Promise<Popped | typeof LOST | typeof NOT_COMMITTED> {
    const answer = (await popScript.run(
      this.client,
      [keys.inbox, keys.pending, keys.tries, keys.lease, keys.kicked, keys.ids, keys.log, outboxKey, deadLetterKey(this.prefix), keys.meta],
      [a.inboundId, a.head, a.token, a.message, a.messageAfter ?? '', a.dead ?? '', OUTBOX_DEFAULTS.maxLength, a.history === false ? 0 : this.historyWindow, a.guard ? '1' : '', a.expectLogLength ?? ''],
    )) as [number, (string | null)?, number?, (string[] | null)?, (string | null)?, number?, number?];
    const code = Number(answer[0]);
    if (code === -2) return NOT_COMMITTED;
    if (code < 0) return LOST;
    const next = answer[1] ?? null;
    // The next head was never run: only the head at claim time can have been committed already.
    const prefetch = next !== null && Array.isArray(answer[3]) ? new LazyPrefetch(null, answer[3], Number(answer[6]), this.historyFromLog) : undefined;
    return { next, finished: Number(answer[2]) === 1, after: answer[4] ?? null, stale: Number(answer[5]) === 1, ...(prefetch ? { prefetch } : {}) };
  }
}

/**
 * History parsed only if used: a pipelined drain computes the next turn's history itself.
 * A class, not a literal with a getter (which would get a hidden class of its own in the old
 * generation, and take the reply it closes over there with it: see hold-lease.ts).
 */
class LazyPrefetch implements Prefetch {
  readonly logLength?: number;
  private parsed: ChatMessage[] | undefined;

  constructor(
    readonly committed: number | null,
    private readonly raw: string[],
    logLength: number,
    private readonly parse: (raw: readonly unknown[]) => ChatMessage[],
  ) {
    if (Number.isSafeInteger(logLength)) this.logLength = logLength;
  }

  get history(): ChatMessage[] {
    return (this.parsed ??= this.parse(this.raw));
  }
}


