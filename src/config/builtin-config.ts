/**
 * The configuration used when there is no bots.yaml — exactly what validating an empty file
 * gives (test/config/builtin-config.test.ts holds the two equal), built from CONFIG_DEFAULTS
 * without the YAML parser and the schema, so a command run without a bots.yaml (`bot chat` on a
 * fresh machine) starts without loading either.
 */
import os from 'node:os';
import { expandHome, DEFAULT_CONFIG_FILE } from './config-path.js';
import { CONFIG_DEFAULTS as D } from './defaults.js';
import { formatYamlPath } from './format-path.js';
import type { LoadedConfig } from './loaded-config.js';
import type { BotsConfig } from './schema.js';

export function builtinConfig(home: string = os.homedir()): LoadedConfig {
  const config: BotsConfig = {
    agents: { [D.agent_id]: { ...D.agent, name: D.agent_id } },
    store: { ...D.store, path: expandHome(D.store.path, home) },
    queue: { ...D.queue, intake_path: expandHome(D.queue.intake_path, home) },
    session: { scope: D.session.scope, reset: { ...D.session.reset } },
    bots: [],
    gateway: {
      enabled: D.gateway.enabled,
      host: D.gateway.host,
      port: D.gateway.port,
      allow_loopback_without_auth: D.gateway.allow_loopback_without_auth,
      session: { ...D.gateway.session, persist_path: expandHome(D.gateway.session.persist_path, home) },
      auth: { tokens: {}, token_ttl: D.gateway.auth.token_ttl },
      limits: { ...D.gateway.limits },
      agent: D.agent_id,
    },
    log: { ...D.log },
    metrics: { ...D.metrics },
    admin: { enabled: D.admin.enabled, identities: [] },
  };
  return {
    config,
    file: null,
    missingEnv: {},
    // As for an empty file: every path is reported on line 1.
    source: { display: DEFAULT_CONFIG_FILE, locate: (p) => ({ path: formatYamlPath(p), line: 1 }) },
  };
}
