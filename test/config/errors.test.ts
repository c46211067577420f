import { describe, expect, it } from 'vitest';
import { yaml, configError } from './helpers.js';

// Every error names file, line and YAML path, and says how to fix it.
describe('config errors', () => {
  it('an unknown key suggests the closest known key', () => {
    const err = configError(yaml('store:', '  backend: memory', 'agnets:', '  a: {}'));
    expect(err.message).toBe("bots.yaml:3: agnets: unknown key 'agnets'; did you mean 'agents'?");
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.path).toBe('agnets');
    expect(err.line).toBe(3);
  });

  it('a nested unknown key points at its own line', () => {
    const err = configError(yaml('agents:', '  a:', '    model: echo', '    max-history: 5'));
    expect(err.message).toBe("bots.yaml:4: agents.a.max-history: unknown key 'max-history'; did you mean 'max_history'?");
  });

  it('an unknown key with no close match lists the known keys', () => {
    const err = configError(yaml('log:', '  verbosity: 3'));
    expect(err.message).toBe("bots.yaml:2: log.verbosity: unknown key 'verbosity'; remove it (known keys here: level, format)");
  });

  it('an unknown platform lists the choices', () => {
    const err = configError(yaml('bots:', '  - platform: telegram', '    token: abc', '  - platform: telegrm'));
    expect(err.message).toBe(
      'bots.yaml:4: bots[1].platform: unknown platform "telegrm"; choose one of telegram, discord, slack, whatsapp',
    );
    expect(err.path).toBe('bots[1].platform');
    expect(err.line).toBe(4);
  });

  it('a missing required key uses the line of the nearest existing parent', () => {
    const err = configError(yaml('log:', '  level: info', 'bots:', '  - token: abc', '    enabled: true'));
    expect(err.message).toBe(
      "bots.yaml:4: bots[0].platform: missing required key 'platform'; add `platform:` (one of telegram, discord, slack, whatsapp)",
    );
  });

  it('an unknown agent reference lists the defined agents', () => {
    const err = configError(
      yaml('agents:', '  helper: {}', '  coder: {}', 'bots:', '  - platform: slack', '    agent: writer', 'gateway:', '  agent: nobody'),
    );
    expect(err.message).toBe(
      [
        '2 problems in bots.yaml:',
        'bots.yaml:6: bots[0].agent: unknown agent "writer"; choose one of helper, coder (or add it under agents)',
        'bots.yaml:8: gateway.agent: unknown agent "nobody"; choose one of helper, coder (or add it under agents)',
      ].join('\n'),
    );
    expect(err.path).toBe('bots[0].agent');
    expect(err.line).toBe(6);
  });

  it('duplicate bot ids, explicit or derived, are rejected at the second one', () => {
    const explicit = configError(yaml('bots:', '  - platform: slack', '    id: main', '  - platform: discord', '    id: main'));
    expect(explicit.message).toBe(
      'bots.yaml:5: bots[1].id: duplicate bot id "main" (also used by bots[0]); give each bot a unique id',
    );
    const derived = configError(yaml('bots:', '  - platform: telegram', '  - platform: slack', '    id: telegram'));
    expect(derived.message).toMatch(/^bots\.yaml:4: bots\[1\]\.id: duplicate bot id "telegram"/);
  });

  it('redis and postgres stores need a url', () => {
    const err = configError(yaml('log:', '  level: warn', 'store:', '  backend: redis', '  prefix: bh'));
    expect(err.message).toBe(
      'bots.yaml:3: store.url: required for the redis backend; add e.g. `url: redis://localhost:6379`',
    );
    expect(err.line).toBe(3);
    expect(configError(yaml('store:', '  backend: postgres')).message).toContain('store.url: required for the postgres backend');
  });

  it('bullmq needs a store every worker shares', () => {
    const err = configError(yaml('queue:', '  backend: bullmq', '  redis_url: redis://127.0.0.1:6379'));
    expect(err.message).toMatch(/^bots\.yaml:1: store\.backend: queue\.backend bullmq needs a store every worker shares; set `store\.backend: redis` \(got "file"\)$/);
  });

  it('bullmq needs a redis url unless the store is redis', () => {
    const err = configError(yaml('store:', '  backend: postgres', '  url: postgres://localhost/x', 'queue:', '  backend: bullmq'));
    expect(err.message).toMatch(/^bots\.yaml:4: queue\.redis_url: required for the bullmq backend/);
  });

  it('out-of-range and mistyped values say what is expected', () => {
    const err = configError(yaml('gateway:', '  port: 70000', '  enabled: maybe', '  session:', '    timeout: 0'));
    expect(err.message).toBe(
      [
        '3 problems in bots.yaml:',
        'bots.yaml:2: gateway.port: must be at most 65535, got 70000',
        'bots.yaml:3: gateway.enabled: must be true or false, got "maybe"',
        'bots.yaml:5: gateway.session.timeout: must be greater than 0, got 0',
      ].join('\n'),
    );
  });

  it('an unknown enum value in a section is labelled with the section', () => {
    const err = configError(yaml('store:', '  backend: sqlite'));
    expect(err.message).toBe(
      'bots.yaml:2: store.backend: unknown store backend "sqlite"; choose one of file, memory, redis, postgres',
    );
  });

  it('a text value given as a number asks for quotes and does not echo it', () => {
    const err = configError(yaml('bots:', '  - platform: telegram', '    token: 123456'));
    expect(err.message).toBe('bots.yaml:3: bots[0].token: must be text, got a number; put the value in quotes');
  });

  it('an id too large for a number asks for quotes', () => {
    const err = configError(yaml('bots:', '  - platform: discord', '    allowed_users: [123456789012345678901]'));
    expect(err.message).toMatch(/^bots\.yaml:3: bots\[0\]\.allowed_users\[0\]: .* put the id in quotes$/);
  });

  it('an empty agents map is rejected', () => {
    const err = configError(yaml('log:', '  level: info', 'agents: {}'));
    expect(err.message).toMatch(/^bots\.yaml:3: agents: no agents defined; add one/);
  });

  it('a document that is not a mapping is rejected at line 1', () => {
    const err = configError(yaml('- 1', '- 2'));
    expect(err.message).toBe('bots.yaml:1: must be a mapping (indented `key: value` lines), got a list');
  });

  it('YAML syntax errors give the line and the yaml reason', () => {
    const indent = configError(yaml('store:', '  backend: file', ' path: x'));
    expect(indent.message).toBe(
      'bots.yaml:3: YAML syntax error: All mapping items must start at the same column; fix the YAML near this line (check indentation and quoting)',
    );
    expect(indent.line).toBe(3);
    const duplicate = configError(yaml('log:', '  level: info', 'log:', '  level: debug'));
    expect(duplicate.message).toBe('bots.yaml:3: YAML syntax error: Map keys must be unique; remove or rename one of the two keys');
  });

  it('reports every problem at once, in line order', () => {
    const err = configError(
      yaml('bots:', '  - platform: telegrm', '    agent: zz', 'agnets:', '  a: {}', 'gateway:', '  port: abc'),
    );
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('4 problems in bots.yaml:');
    expect(lines.slice(1).map((l) => l.split(': ')[0])).toEqual([
      'bots.yaml:2',
      'bots.yaml:3',
      'bots.yaml:4',
      'bots.yaml:7',
    ]);
    expect(err.path).toBe('bots[0].platform');
    expect(err.line).toBe(2);
  });
});
