/**
 * The model seam. The agent runner talks to this, never to a provider SDK directly, so the
 * offline echo model and the AI SDK provider are interchangeable.
 */
import type { ChatMessage } from './session-store.js';

export interface ModelRequest {
  /** The system prompt (agent instructions). */
  system?: string;
  /** History then the new user message, oldest first. */
  messages: ChatMessage[];
  signal?: AbortSignal;
  /** Told the tokens the call used, once, when the provider reports them (the echo model does not). */
  onUsage?: (usage: ModelUsage) => void;
}

export interface ModelUsage {
  inputTokens?: number;
  outputTokens?: number;
}

export interface ChatModel {
  /** Shown in logs and `/status`, e.g. `echo` or `gpt-4o-mini @ http://127.0.0.1:11434/v1`. */
  readonly description: string;
  /** Yields text deltas; the reply is their concatenation. Throws `ModelError`. */
  stream(request: ModelRequest): AsyncIterable<string>;
}
