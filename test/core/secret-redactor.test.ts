/** The SecretRedactor and what counts as a secret in bots.yaml and the environment (the unit under T34). */
import { describe, expect, it } from 'vitest';
import { REDACTED, SecretRedactor } from '../../src/core/secret-redactor.js';
import { createLogger } from '../../src/host/logger.js';
import { collectSecrets } from '../../src/host/secrets.js';

describe('SecretRedactor', () => {
  const r = new SecretRedactor(['123456:Tok/en+x', 'pass"word\\1']);

  it('removes a secret as written, URL-encoded (either hex case) and JSON-escaped', () => {
    expect(r.redact('GET /bot123456:Tok/en+x/sendMessage')).toBe(`GET /bot${REDACTED}/sendMessage`);
    expect(r.redact(`u=${encodeURIComponent('123456:Tok/en+x')}`)).toBe(`u=${REDACTED}`);
    expect(r.redact('u=123456%3aTok%2fen%2bx')).toBe(`u=${REDACTED}`);
    expect(r.redact(JSON.stringify({ err: 'auth pass"word\\1 failed' }))).toBe(`{"err":"auth ${REDACTED} failed"}`);
  });

  it('ignores values too short to be secrets, and leaves other text alone', () => {
    const short = new SecretRedactor(['on', '', '1234']);
    expect(short.size).toBe(0);
    expect(short.redact('turn on 1234')).toBe('turn on 1234');
    expect(r.redact('nothing secret here')).toBe('nothing secret here');
  });

  it('a longer secret containing a shorter one is removed whole', () => {
    const nested = new SecretRedactor(['abcdef', 'abcdefghij']);
    expect(nested.redact('x abcdefghij y abcdef')).toBe(`x ${REDACTED} y ${REDACTED}`);
  });
});

describe('collectSecrets', () => {
  it('finds credential-named keys at any depth, values under them, URL passwords and credential query parameters', () => {
    const config = {
      agents: { a: { api_key: 'agent-key-1', base_url: 'http://h/v1?key=query-key-1&model=x' } },
      store: { url: 'redis://:redis-pw-1@h:6379' },
      bots: [{ token: 'bot-token-1', signing_secret: 'slack-sign-1', app_token: 'xapp-token-1', webhook: { secret: 'hook-secret-1' } }],
      gateway: { auth: { secret: 'gw-secret-123456789', tokens: { alice: 'alice-token-1' } } },
      other: { url: 'postgres://u:db-pw-1@h/db?sslmode=require', name: 'not-a-secret', password: 'password-1' },
    };
    const env = { OPENAI_API_KEY: 'sk-env-1', DATABASE_URL: 'postgres://u:env-db-pw@h/db', HOME: '/home/someone', GRAPH_TOKEN: 'graph-token-1', REDIS_URL: 'redis://h:6379/0?token=env-q-token' };
    const found = new Set(collectSecrets(config, env));
    for (const s of ['agent-key-1', 'query-key-1', 'redis-pw-1', 'bot-token-1', 'slack-sign-1', 'xapp-token-1', 'hook-secret-1', 'gw-secret-123456789', 'alice-token-1', 'db-pw-1', 'password-1', 'sk-env-1', 'env-db-pw', 'graph-token-1', 'env-q-token']) {
      expect(found, s).toContain(s);
    }
    for (const s of ['not-a-secret', '/home/someone', 'require']) expect(found).not.toContain(s);
  });
});

describe('createLogger', () => {
  it('redacts every field of a line, nested error objects and causes included', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', 'json', { redactor: new SecretRedactor(['nested-secret-42']), destination: { write: (line: string) => lines.push(line) } });
    const err = new Error('call failed for /botnested-secret-42/getMe', { cause: new Error('because nested-secret-42') });
    logger.error({ err, url: 'http://h/?token=nested-secret-42', deep: { a: [{ b: 'nested-secret-42' }] } }, 'failed: nested-secret-42');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('nested-secret-42');
    expect(lines[0]!.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(5);
  });
});
