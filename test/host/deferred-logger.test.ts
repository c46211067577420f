/**
 * The CLI's deferred logger: below its level a call is a no-op and creates nothing; the first
 * line at or above it creates the pino logger, which prints it (redacted) and every later line.
 */
import { describe, expect, it } from 'vitest';
import { SecretRedactor } from '../../src/core/secret-redactor.js';
import { deferredLogger } from '../../src/host/logger.js';

function capture() {
  const lines: string[] = [];
  let writes = 0;
  return {
    lines,
    writes: () => writes,
    destination: {
      write(line: string) {
        writes++;
        lines.push(line);
      },
    },
  };
}

describe('deferredLogger', () => {
  it('drops lines below the level, prints the rest as pino JSON with child bindings, secrets redacted', () => {
    const out = capture();
    const redactor = new SecretRedactor();
    redactor.add(['s3cr3t-value-123456']);
    const logger = deferredLogger('warn', 'json', { destination: out.destination, redactor });
    logger.debug('not shown');
    logger.info({ a: 1 }, 'not shown either');
    expect(out.writes()).toBe(0);
    const child = logger.child({ component: 'store' });
    child.info('still not shown');
    child.warn({ id: 7 }, 'disk almost full, key s3cr3t-value-123456');
    logger.error('failed');
    expect(out.lines).toHaveLength(2);
    const [first, second] = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ level: 40, component: 'store', id: 7, msg: 'disk almost full, key [redacted]' });
    expect(second).toMatchObject({ level: 50, msg: 'failed' });
    expect(second).not.toHaveProperty('component');
    expect(out.lines.join('')).not.toContain('s3cr3t-value-123456');
  });

  it('answers level questions from the real logger, and level changes reach it', () => {
    const out = capture();
    const logger = deferredLogger('error', 'json', { destination: out.destination });
    expect(logger.level).toBe('error');
    expect(logger.isLevelEnabled('warn')).toBe(false);
    logger.level = 'info';
    logger.info('now shown');
    expect(out.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['now shown']);
  });

  it('silent prints nothing; an unknown level is refused at once, as createLogger refuses it', () => {
    const out = capture();
    const logger = deferredLogger('silent', 'json', { destination: out.destination });
    logger.fatal('nothing');
    expect(out.writes()).toBe(0);
    expect(() => deferredLogger('loud', 'json', { destination: out.destination })).toThrow(/loud/);
  });
});
