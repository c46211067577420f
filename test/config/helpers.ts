import { expect } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { parseConfig } from '../../src/config/load.js';

/** Parses `text` (as bots.yaml, with `env`) and returns the ConfigError it must throw. */
export function configError(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(text, { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

/** Joins lines so a test can show YAML with its line numbers obvious. */
export const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;
