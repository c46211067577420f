/**
 * JSON Schema for bots.yaml, generated from the zod schema so editors (yaml-language-server:
 * `# yaml-language-server: $schema=./bots.schema.json`) complete and check the same rules the
 * loader enforces. It describes the *input* side: keys with defaults are optional.
 */
import { z } from 'zod';
import { acceptsEnvString, BotsConfigSchema } from './schema.js';

/** Accepted in place of a number or boolean, so `port: ${PORT}` is not flagged by editors. */
const ENV_REFERENCE = { type: 'string', pattern: '\\$\\{' } as const;

/** The JSON Schema (draft 2020-12) of bots.yaml, ready for `JSON.stringify`. */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(BotsConfigSchema, {
    io: 'input',
    target: 'draft-2020-12',
    // Derived defaults are a transform; the input side never reaches it, but do not throw if it did.
    unrepresentable: 'any',
    override({ zodSchema, jsonSchema }) {
      // zod 4 drops the default of a `.default()` wrapping a preprocess in input mode; restore it.
      if (zodSchema instanceof z.ZodDefault && jsonSchema.default === undefined) {
        jsonSchema.default = JSON.parse(JSON.stringify(zodSchema.def.defaultValue)) as unknown;
      }
      if (acceptsEnvString(zodSchema)) {
        const value = { ...jsonSchema };
        for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
        jsonSchema.anyOf = [value, ENV_REFERENCE];
      }
    },
  });
  const { $schema, ...rest } = generated;
  return {
    $schema: $schema ?? 'https://json-schema.org/draft/2020-12/schema',
    title: 'bothost bots.yaml',
    description: 'Agents, storage, queue, bots and gateway of a bothost deployment. Strings may use ${VAR} and ${VAR:-default}.',
    ...rest,
  };
}
