/** What loading bots.yaml gives: the validated config, where it came from, and how to point back into it. */
import type { BotsConfig } from './schema.js';

export interface LoadedConfig {
  config: BotsConfig;
  /** Absolute path of the file read, or null when the built-in defaults were used. */
  file: string | null;
  /** YAML path (`bots[0].token`) → env var whose `${VAR}` was unset, so the key was dropped. */
  missingEnv: Record<string, string>;
  /**
   * Maps a path in `config` back to its YAML path and line, so sections validated later (a
   * platform adapter's own keys, see parse-section.ts) report errors exactly like the loader.
   */
  source?: ConfigSource;
}

export interface ConfigSource {
  /** The file as named in messages (`bots.yaml`, or a path relative to the cwd). */
  display: string;
  file?: string;
  locate(path: readonly PropertyKey[]): { path: string; line: number };
}
