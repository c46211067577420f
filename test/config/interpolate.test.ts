import { describe, expect, it } from 'vitest';
import { interpolateEnv, interpolateString } from '../../src/config/interpolate.js';
import { parseConfig } from '../../src/config/load.js';
import { configError, yaml } from './helpers.js';

describe('interpolateString', () => {
  const env = { HOST: 'example.org', EMPTY: '' };

  it('substitutes set variables, embedded or whole', () => {
    expect(interpolateString('http://${HOST}/v1', env)).toEqual({ kind: 'value', value: 'http://example.org/v1' });
    expect(interpolateString('${HOST}', env)).toEqual({ kind: 'value', value: 'example.org' });
  });

  it('uses the :- fallback when unset or empty', () => {
    expect(interpolateString('${NOPE:-8080}', env)).toEqual({ kind: 'value', value: '8080' });
    expect(interpolateString('${EMPTY:-x}', env)).toEqual({ kind: 'value', value: 'x' });
    expect(interpolateString('${HOST:-x}', env)).toEqual({ kind: 'value', value: 'example.org' });
  });

  it('turns $${ into a literal ${ and never re-scans values from the environment', () => {
    expect(interpolateString('cost: $${PRICE}', env)).toEqual({ kind: 'value', value: 'cost: ${PRICE}' });
    expect(interpolateString('${V}', { V: '${HOST}' })).toEqual({ kind: 'value', value: '${HOST}' });
  });

  it('an exact reference to an unset or empty variable is absent', () => {
    expect(interpolateString('${NOPE}', env)).toEqual({ kind: 'absent', variable: 'NOPE' });
    expect(interpolateString('${EMPTY}', env)).toEqual({ kind: 'absent', variable: 'EMPTY' });
  });

  it('an embedded unset variable is an error naming it; embedded empty is ""', () => {
    const r = interpolateString('a${NOPE}b', env);
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.message).toContain('`NOPE` is not set');
    expect(interpolateString('a${EMPTY}b', env)).toEqual({ kind: 'value', value: 'ab' });
  });
});

describe('interpolateEnv', () => {
  it('interpolates values, not keys, and drops absent map keys and list items', () => {
    const r = interpolateEnv({ '${K}': 'v', list: ['${A}', '${GONE}', 'x'], token: '${GONE}' }, { A: 'a', K: 'k' });
    expect(r.value).toEqual({ '${K}': 'v', list: ['a', 'x'] });
    expect(r.missingEnv).toEqual({ 'list[1]': 'GONE', token: 'GONE' });
    expect(r.toSourcePath(['list', 1])).toEqual(['list', 2]);
  });
});

describe('interpolation in bots.yaml', () => {
  it('set variables fill values; numbers and booleans from env are coerced', () => {
    const { config, missingEnv } = parseConfig(
      yaml('gateway:', '  enabled: ${GW_ON}', '  port: ${PORT}', 'bots:', '  - platform: telegram', '    token: ${TG_TOKEN}'),
      { env: { GW_ON: 'true', PORT: '9001', TG_TOKEN: '123:abc' } },
    );
    expect(config.gateway.enabled).toBe(true);
    expect(config.gateway.port).toBe(9001);
    expect(config.bots[0]?.token).toBe('123:abc');
    expect(missingEnv).toEqual({});
  });

  it('an unset exact ${VAR} is absent (default applies) and recorded in missingEnv', () => {
    const { config, missingEnv } = parseConfig(
      yaml('gateway:', '  port: ${PORT}', 'bots:', '  - platform: telegram', '    token: ${TELEGRAM_BOT_TOKEN}'),
      { env: {} },
    );
    expect(config.gateway.port).toBe(8765);
    expect(config.bots[0]).not.toHaveProperty('token');
    expect(missingEnv).toEqual({ 'gateway.port': 'PORT', 'bots[0].token': 'TELEGRAM_BOT_TOKEN' });
  });

  it(':-default gives a number where one is wanted', () => {
    const { config } = parseConfig(yaml('gateway:', '  port: ${PORT:-8080}'), { env: {} });
    expect(config.gateway.port).toBe(8080);
  });

  it('$${ escapes a literal ${', () => {
    const { config } = parseConfig(yaml('agents:', '  a:', '    instructions: "Say $${name} verbatim"'), { env: {} });
    expect(config.agents.a?.instructions).toBe('Say ${name} verbatim');
  });

  it('an unset variable inside a longer string is an error with path and line', () => {
    const err = configError(yaml('agents:', '  a:', '    model: m', '    base_url: http://${OLLAMA_HOST}/v1'));
    expect(err.message).toBe(
      'bots.yaml:4: agents.a.base_url: `OLLAMA_HOST` is not set: export it, or write ${OLLAMA_HOST:-default} to give a default',
    );
    expect(err.path).toBe('agents.a.base_url');
    expect(err.line).toBe(4);
  });

  it('a malformed reference is an error with its line', () => {
    const err = configError(yaml('log:', '  level: info', 'agents:', '  a:', '    api_key: ${API KEY}'));
    expect(err.message).toMatch(/^bots\.yaml:5: agents\.a\.api_key: invalid reference "\$\{API KEY\}"; write \$\{NAME\}/);
  });

  it('a required value left absent by an unset variable names the variable', () => {
    const err = configError(yaml('store:', '  backend: redis', '  url: ${REDIS_URL}'));
    expect(err.message).toBe(
      'bots.yaml:3: store.url: `REDIS_URL` is not set: export it or put the value in bots.yaml at store.url',
    );
    expect(err.line).toBe(3);
    const platform = configError(yaml('bots:', '  - token: t', '    platform: ${PLATFORM}'));
    expect(platform.message).toBe(
      'bots.yaml:3: bots[0].platform: `PLATFORM` is not set: export it or put the value in bots.yaml at bots[0].platform',
    );
  });

  it('errors after a dropped list item still point at the right line', () => {
    const err = configError(yaml('bots:', '  - ${EXTRA_BOT}', '  - platform: telegrm'));
    expect(err.path).toBe('bots[1].platform');
    expect(err.line).toBe(3);
  });
});
