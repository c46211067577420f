/** The session reset policy of each bot: `bots[].session_reset` over `session.reset` (bots.yaml). */
import type { BotsConfig } from '../config/schema.js';
import { NO_RESET, type ResetPolicy } from '../ingress/session-reset.js';

type ResetYaml = { mode?: ResetPolicy['mode'] | undefined; idle_minutes?: number | undefined; at_hour?: number | undefined };

function toPolicy(base: ResetPolicy, yaml: ResetYaml | undefined): ResetPolicy {
  return Object.freeze({
    mode: yaml?.mode ?? base.mode,
    idleMinutes: yaml?.idle_minutes ?? base.idleMinutes,
    atHour: yaml?.at_hour ?? base.atHour,
  });
}

/** Bots without an override (and hosts' own consoles) get the global policy. */
export function resetPolicyResolver(config: BotsConfig): (botId: string) => ResetPolicy {
  const global = toPolicy(NO_RESET, config.session.reset);
  const perBot = new Map(config.bots.map((b) => [b.id, toPolicy(global, b.session_reset)]));
  return (botId) => perBot.get(botId) ?? global;
}
