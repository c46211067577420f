/**
 * Interaction tokens, in this process's memory only. A token lets anyone holding it answer the
 * interaction for 15 minutes, so it is a credential: it is never part of a reply address, a job,
 * the outbox or a log line. The address carries the interaction id; the process that received
 * the interaction (the gateway holder, which also delivers replies) looks the token up here.
 */
import { DISCORD_DEFAULTS } from './config.js';

export interface InteractionToken {
  readonly applicationId: string;
  readonly token: string;
  readonly expiresAt: number;
  /** The deferred response was replaced by the first chunk; later chunks are follow-ups. */
  originalSent: boolean;
}

export class InteractionTokens {
  private readonly tokens = new Map<string, InteractionToken>();

  constructor(
    private readonly options: { ttlMs?: number; max?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  remember(interactionId: string, applicationId: string, token: string): void {
    const ttl = this.options.ttlMs ?? DISCORD_DEFAULTS.interactionTokenTtlMs;
    this.tokens.set(interactionId, { applicationId, token, expiresAt: this.now() + ttl, originalSent: false });
    const max = this.options.max ?? DISCORD_DEFAULTS.interactionMemory;
    while (this.tokens.size > max) this.tokens.delete(this.tokens.keys().next().value!);
  }

  /** The token, while it is still valid (undefined when unknown here or expired). */
  get(interactionId: string): InteractionToken | undefined {
    const t = this.tokens.get(interactionId);
    if (t && t.expiresAt <= this.now()) {
      this.tokens.delete(interactionId);
      return undefined;
    }
    return t;
  }

  forget(interactionId: string): void {
    this.tokens.delete(interactionId);
  }

  /** Every token held, for redacting log lines. */
  values(): IterableIterator<InteractionToken> {
    return this.tokens.values();
  }

  get size(): number {
    return this.tokens.size;
  }
}
