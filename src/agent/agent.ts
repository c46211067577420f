/** An agent as the runner needs it: resolved from bots.yaml `agents.<id>` plus its model. */
import type { ChatModel } from '../core/model.js';

export interface Agent {
  id: string;
  name: string;
  instructions: string;
  /** Messages of history sent to the model with each turn. */
  maxHistory: number;
  model: ChatModel;
}

/** Looks agents up by id; throws `UnknownNameError` listing the choices. */
export type AgentResolver = (agentId: string) => Agent;
