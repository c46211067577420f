/** An adapter's bots.yaml entry validated the way the loader does it, for the adapters' config tests. */
import type { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';
import { parseSection } from '../../src/config/parse-section.js';
import { ConfigError } from '../../src/core/errors.js';

export interface BotEntryValidator<S extends z.ZodType> {
  /** The first entry of `yaml`'s bots, parsed with the adapter's schema (`${VAR}`s from `env`). */
  validate(yaml: string, env?: Record<string, string>): z.output<S>;
  /** The ConfigError `validate` throws; fails the test if it throws none or something else. */
  errorOf(yaml: string): ConfigError;
}

export function botEntryValidator<S extends z.ZodType>(schema: S): BotEntryValidator<S> {
  const validate = (yaml: string, env: Record<string, string> = {}): z.output<S> => {
    const loaded = parseConfig(yaml, { env });
    return parseSection(loaded, ['bots', 0], schema, loaded.config.bots[0]);
  };
  const errorOf = (yaml: string): ConfigError => {
    try {
      validate(yaml);
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };
  return { validate, errorOf };
}
