/**
 * MemorySessionStore: everything in this process's memory, lost on exit. For unit tests and
 * `gateway.session.persist: false`. It passes the same contract suite as the durable stores.
 */
import type {
  ChatMessage,
  CommitResult,
  EntriesOptions,
  ListOptions,
  Metadata,
  Role,
  SessionEntry,
  SessionInfo,
  SessionLog,
  TurnCommit,
} from '../core/session-store.js';
import { mergeMetadata } from './file-log-format.js';
import { metadataMatches } from './metadata-expectation.js';
import { RECENT_INBOUND_IDS } from './file-log-reader.js';
import { heldRanges, isHeld, withoutHolds } from './retention-holds.js';
import { assertSessionId } from '../core/session-id.js';
import { validateCommit } from './validate.js';

interface MemorySession {
  info: SessionInfo;
  /** The served window: the newest `maxMessages` at most. */
  entries: SessionEntry[];
  /** Older entries kept because a hold covers them (retention-holds.ts), oldest first. */
  held: SessionEntry[];
  fence: number;
  ids: Map<string, number>;
}

export class MemorySessionStore implements SessionLog {
  private readonly sessions = new Map<string, MemorySession>();
  readonly maxMessages: number;

  constructor(options: { maxMessages?: number } = {}) {
    this.maxMessages = options.maxMessages ?? 1000;
  }

  async addMessage(sessionId: string, role: Role, content: string, metadata?: Metadata): Promise<boolean> {
    const res = await this.commitTurn(sessionId, { entries: [{ role, content, ...(metadata ? { metadata } : {}) }] });
    return res.status === 'committed';
  }

  async getChatHistory(sessionId: string, maxMessages?: number): Promise<ChatMessage[]> {
    const entries = this.get(sessionId)?.entries ?? [];
    const n = Math.min(maxMessages ?? Infinity, this.maxMessages);
    return n <= 0 ? [] : entries.slice(-n).map(({ role, content }) => ({ role, content }));
  }

  async clearSession(sessionId: string): Promise<boolean> {
    const s = this.get(sessionId);
    if (!s) return false;
    s.entries = [];
    s.held = [];
    s.info.metadata = withoutHolds(s.info.metadata);
    s.info.messageCount = 0;
    delete s.info.heldCount;
    return true;
  }

  async deleteSession(sessionId: string): Promise<boolean> {
    assertSessionId(sessionId);
    return this.sessions.delete(sessionId);
  }

  async sessionExists(sessionId: string): Promise<boolean> {
    return this.get(sessionId) !== undefined;
  }

  async commitTurn(sessionId: string, commit: TurnCommit): Promise<CommitResult> {
    validateCommit(commit);
    const s = this.getOrCreate(sessionId);
    if (commit.inboundId !== undefined) {
      const cursor = s.ids.get(commit.inboundId);
      if (cursor !== undefined) return { status: 'duplicate', cursor };
    }
    if (commit.fence !== undefined && commit.fence < s.fence) return { status: 'stale_fence', highestFence: s.fence };
    const ts = Date.now();
    const cursors: number[] = [];
    for (const e of commit.entries) {
      const cursor = ++s.info.lastCursor;
      cursors.push(cursor);
      s.entries.push({ cursor, role: e.role, content: e.content, ts, ...(e.metadata ? { metadata: { ...e.metadata } } : {}) });
    }
    if (s.entries.length > this.maxMessages) {
      const trimmed = s.entries.splice(0, s.entries.length - this.maxMessages);
      const holds = heldRanges(s.info.metadata);
      s.held = [...s.held, ...trimmed].filter((e) => isHeld(holds, e.cursor));
      if (s.held.length > 0) s.info.heldCount = s.held.length;
      else delete s.info.heldCount;
    }
    if (commit.inboundId !== undefined) {
      s.ids.set(commit.inboundId, cursors[0]!);
      if (s.ids.size > RECENT_INBOUND_IDS) s.ids.delete(s.ids.keys().next().value!);
    }
    if (commit.fence !== undefined) s.fence = commit.fence;
    s.info.updatedAt = ts;
    s.info.messageCount = s.entries.length;
    return { status: 'committed', cursors };
  }

  async findCommitted(sessionId: string, inboundId: string): Promise<number | null> {
    return this.get(sessionId)?.ids.get(inboundId) ?? null;
  }

  async getEntries(sessionId: string, options: EntriesOptions = {}): Promise<SessionEntry[]> {
    const after = options.after ?? 0;
    const s = this.get(sessionId);
    const stored = s ? (options.includeHeld ? [...s.held, ...s.entries] : s.entries) : [];
    const entries = stored.filter((e) => e.cursor > after);
    return entries.slice(0, options.limit ?? Infinity).map((e) => ({ ...e, ...(e.metadata ? { metadata: { ...e.metadata } } : {}) }));
  }

  async getSession(sessionId: string): Promise<SessionInfo | null> {
    const s = this.get(sessionId);
    return s ? { ...s.info, metadata: { ...s.info.metadata } } : null;
  }

  async listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    return [...this.sessions.values()]
      .map((s) => ({ ...s.info, metadata: { ...s.info.metadata } }))
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .slice(0, options.limit ?? 100);
  }

  async updateMetadata(sessionId: string, patch: Metadata): Promise<void> {
    const s = this.getOrCreate(sessionId);
    s.info.metadata = mergeMetadata(s.info.metadata, patch);
    s.info.updatedAt = Date.now();
  }

  async updateMetadataIf(sessionId: string, expected: Metadata, patch: Metadata): Promise<boolean> {
    if (!metadataMatches(this.get(sessionId)?.info.metadata ?? {}, expected)) return false;
    await this.updateMetadata(sessionId, patch);
    return true;
  }

  async close(): Promise<void> {}

  private get(sessionId: string): MemorySession | undefined {
    assertSessionId(sessionId);
    return this.sessions.get(sessionId);
  }

  private getOrCreate(sessionId: string): MemorySession {
    let s = this.get(sessionId);
    if (!s) {
      const now = Date.now();
      s = {
        info: { id: sessionId, createdAt: now, updatedAt: now, messageCount: 0, lastCursor: 0, metadata: {} },
        entries: [],
        held: [],
        fence: 0,
        ids: new Map(),
      };
      this.sessions.set(sessionId, s);
    }
    return s;
  }
}
