/** An agent as the runner needs it: resolved from bots.yaml `agents.<id>` plus its model. */
import type { ChatModel, ModelUsage } from '../core/model.js';

export interface Agent {
  id: string;
  name: string;
  instructions: string;
  /** Messages of history sent to the model with each turn. */
  maxHistory: number;
  model: ChatModel;
  /**
   * Told how long each model call took (ms, failed calls too), the tokens it used when the
   * provider reports them, and how long the commit took: the host's metrics. A hook rather than a wrapped stream, so recording
   * costs nothing per streamed delta.
   */
  observer?: ModelObserver;
}

export interface ModelObserver {
  modelCall(ms: number): void;
  usage(usage: ModelUsage): void;
  /** The turn's commit round trip (sent → answered), for a turn that reached its commit. */
  commit(ms: number): void;
}

/** Looks agents up by id; throws `UnknownNameError` listing the choices. */
export type AgentResolver = (agentId: string) => Agent;
