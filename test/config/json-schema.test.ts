import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/json-schema.js';

type Json = Record<string, any>;

describe('configJsonSchema', () => {
  const schema = configJsonSchema() as Json;

  it('is plain JSON with a $schema and title', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('bothost bots.yaml');
  });

  it('describes the input side: sections are optional, unknown keys are not allowed', () => {
    expect(Object.keys(schema.properties)).toEqual(['agents', 'store', 'queue', 'session', 'bots', 'gateway', 'log', 'metrics', 'admin']);
    expect(schema.required ?? []).toEqual([]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.agents.additionalProperties.properties.model.default).toBe('echo');
    expect(schema.properties.bots.items.required).toEqual(['platform']);
    expect(schema.properties.bots.items.properties.platform.enum).toEqual(['telegram', 'discord', 'slack', 'whatsapp']);
  });

  it('keeps defaults and lets numbers be ${VAR} references', () => {
    const port = schema.properties.gateway.properties.port;
    expect(port.default).toBe(8765);
    expect(port.anyOf).toEqual([
      { type: 'integer', minimum: 1, maximum: 65535 },
      { type: 'string', pattern: '\\$\\{' },
    ]);
  });
});
