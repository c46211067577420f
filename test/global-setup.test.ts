/**
 * The test run's own setup (test/global-setup-services.ts): which server it uses, when it starts
 * a private one, and the error when neither is possible — plus a real private redis-server
 * started, answering and stopped by pid, and the URLs reaching this worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  findOnPath,
  planChromium,
  planPostgres,
  planRedis,
  realProbes,
  startPrivateRedis,
  type Probes,
} from './global-setup-services.js';

const emptyDir = mkdtempSync(path.join(os.tmpdir(), 'bothost-setup-empty-'));
const fakeBinDir = mkdtempSync(path.join(os.tmpdir(), 'bothost-setup-bin-'));
writeFileSync(path.join(fakeBinDir, 'redis-server'), '#!/bin/sh\n', { mode: 0o755 });
afterAll(() => {
  rmSync(emptyDir, { recursive: true, force: true });
  rmSync(fakeBinDir, { recursive: true, force: true });
});

/** Probes that answer only for the URLs listed. */
const answering = (...urls: string[]): Probes => ({
  redisAnswers: async (url) => urls.includes(url),
  postgresAnswers: async (url) => urls.includes(url),
});

describe('choosing the Redis', () => {
  it('uses REDIS_URL when it answers', async () => {
    expect(await planRedis({ REDIS_URL: 'redis://10.0.0.5:7000', PATH: emptyDir }, answering('redis://10.0.0.5:7000'))).toEqual({ use: 'redis://10.0.0.5:7000' });
  });

  it('an explicit REDIS_URL that does not answer is an error naming it, never replaced by a private server', async () => {
    const plan = planRedis({ REDIS_URL: 'redis://:hunter2@127.0.0.1:1', PATH: fakeBinDir }, answering());
    await expect(plan).rejects.toThrow(/REDIS_URL is set to redis:\/\/:\*\*\*@127\.0\.0\.1:1 but no Redis answers there/);
    await expect(plan).rejects.not.toThrow(/hunter2/);
  });

  it('unset: the default address when it answers', async () => {
    expect(await planRedis({ PATH: emptyDir }, answering(DEFAULT_REDIS_URL))).toEqual({ use: DEFAULT_REDIS_URL });
  });

  it('unset and nothing answers: a private redis-server from the PATH', async () => {
    expect(await planRedis({ PATH: `${emptyDir}${path.delimiter}${fakeBinDir}` }, answering())).toEqual({ start: path.join(fakeBinDir, 'redis-server') });
  });

  it('nothing answers and no redis-server on the PATH: the error names the binary and the install command', async () => {
    await expect(planRedis({ PATH: emptyDir }, answering())).rejects.toThrow(/redis-server is not on the PATH: install it \(Debian: apt-get install redis-server\)/);
  });
});

describe('choosing the PostgreSQL', () => {
  it('uses DATABASE_URL when it answers; an explicit one that does not is an error naming it', async () => {
    expect(await planPostgres({ DATABASE_URL: 'postgres://u@db:5433/x' }, answering('postgres://u@db:5433/x'))).toEqual({ use: 'postgres://u@db:5433/x' });
    await expect(planPostgres({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' }, answering())).rejects.toThrow(/DATABASE_URL is set to postgres:\/\/postgres@127\.0\.0\.1:1\/test but no PostgreSQL answers there/);
  });

  it('unset: the default address when it answers, else a private server from the binaries', async () => {
    expect(await planPostgres({ PATH: emptyDir }, answering(DEFAULT_DATABASE_URL))).toEqual({ use: DEFAULT_DATABASE_URL });
    const pgBin = mkdtempSync(path.join(os.tmpdir(), 'bothost-setup-pg-'));
    try {
      for (const b of ['initdb', 'postgres']) writeFileSync(path.join(pgBin, b), '#!/bin/sh\n', { mode: 0o755 });
      expect(await planPostgres({ PG_BIN: pgBin }, answering())).toEqual({ start: pgBin });
    } finally {
      rmSync(pgBin, { recursive: true, force: true });
    }
  });

  it('nothing answers and no initdb: the error names the binaries and the install command', async () => {
    await expect(planPostgres({ PG_BIN: emptyDir, PATH: emptyDir }, answering())).rejects.toThrow(/initdb\/postgres are not in PG_BIN.*install them \(Debian: apt-get install postgresql\)/);
  });
});

describe('choosing the Chromium', () => {
  it('CHROMIUM_PATH, else /usr/bin/chromium, else an error with the install command', () => {
    expect(planChromium({ CHROMIUM_PATH: '/opt/c/chrome' }, (f) => f === '/opt/c/chrome')).toBe('/opt/c/chrome');
    expect(planChromium({}, (f) => f === '/usr/bin/chromium')).toBe('/usr/bin/chromium');
    expect(() => planChromium({}, () => false)).toThrow(/Chromium at \/usr\/bin\/chromium: install it \(Debian: apt-get install chromium\), or set CHROMIUM_PATH/);
    expect(() => planChromium({ CHROMIUM_PATH: '/nope' }, () => false)).toThrow(/CHROMIUM_PATH is set to \/nope, which does not exist/);
  });
});

describe('the real thing', () => {
  it('a private redis-server starts on a free port, answers PING, and is gone after stop (by pid)', async () => {
    const binary = findOnPath('redis-server', process.env);
    expect(binary, 'redis-server on the PATH').toBeDefined();
    const server = await startPrivateRedis(binary!);
    try {
      expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(server.url).not.toBe(DEFAULT_REDIS_URL);
      expect(await realProbes.redisAnswers(server.url)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(() => process.kill(server.pid, 0)).toThrow(/ESRCH/);
    expect(await realProbes.redisAnswers(server.url)).toBe(false);
  });

  it('the URLs the setup chose reach this test worker, and answer', async () => {
    expect(process.env.REDIS_URL).toBeTruthy();
    expect(process.env.DATABASE_URL).toBeTruthy();
    expect(await realProbes.redisAnswers(process.env.REDIS_URL!)).toBe(true);
    expect(await realProbes.postgresAnswers(process.env.DATABASE_URL!)).toBe(true);
  });
});
