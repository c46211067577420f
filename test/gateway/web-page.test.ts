/// <reference lib="dom" />
/**
 * The web chat in headless Chromium against a real `bot gateway` process started from the repo's
 * bots.yaml: send a message, watch the reply stream in, reload, see the history, continue.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import { REPO_ROOT, startCli, useSandbox } from '../helpers/run-cli.js';

const box = useSandbox({ withRepoConfig: true });
let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
afterAll(async () => {
  await browser?.close();
});

describe('web chat page', () => {
  it('send, see the streamed reply, reload, see the history and continue', async () => {
    const port = await freePort();
    const gw = startCli(box.sb, ['start'], { env: { BOTHOST_GATEWAY_PORT: String(port) }, timeoutMs: 90_000 });
    await gw.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 15_000 });
    const page = await browser.newPage({ viewport: { width: 900, height: 720 } });
    const streamed: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => {
      const frame = JSON.parse(String(f.payload));
      if (frame.type === 'stream') streamed.push(frame.delta);
    }));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('#status-dot.online');
    await page.fill('#input', 'Hello! My name is Ada.');
    await page.keyboard.press('Enter');
    const first = page.locator('.msg.assistant').first();
    await first.waitFor();
    await page.waitForFunction(() => !document.querySelector('.msg.streaming') && document.querySelectorAll('.msg.assistant').length === 1);
    expect(await first.textContent()).toContain('turn 1');
    expect(streamed.join('')).toBe(await first.getAttribute('data-raw')); // it arrived as a stream first (rendered as Markdown)

    await page.reload();
    await page.waitForSelector('#status-dot.online');
    expect(await page.locator('.msg.user .body').allTextContents()).toEqual(['Hello! My name is Ada.']);
    expect(await page.locator('.msg.assistant').count()).toBe(1);
    await page.fill('#input', "What's my name?");
    await page.locator('#send').click();
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant:not(.streaming)').length === 2);
    const second = await page.locator('.msg.assistant').nth(1).textContent();
    expect(second).toContain('turn 2');
    expect(second).toContain('Your name is Ada');

    // Another reload: still every event exactly once (cache + since, no duplicates).
    await page.reload();
    await page.waitForSelector('#status-dot.online');
    await page.waitForTimeout(300);
    expect(await page.locator('.msg').count()).toBe(4);
    const dir = path.join(REPO_ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, 'web-chat.png') });
    gw.proc.kill('SIGTERM');
    expect((await gw.exited(10_000)).code).toBe(0);
  }, 90_000);

  it('the network drops (gateway killed): a message typed offline waits, is sent on reconnect, answered once', async () => {
    const port = await freePort();
    const start = async () => {
      const cli = startCli(box.sb, ['start'], { env: { BOTHOST_GATEWAY_PORT: String(port) }, timeoutMs: 90_000 });
      await cli.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 15_000 });
      return cli;
    };
    let gw = await start();
    mkdirSync(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('#status-dot.online');
    await page.fill('#input', 'before the outage');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant:not(.streaming)').length === 1);

    gw.proc.kill('SIGKILL');
    await gw.exited();
    await page.waitForSelector('#status-dot.offline');
    await page.fill('#input', 'typed while offline');
    await page.keyboard.press('Enter');
    expect(await page.locator('.msg.user.pending').count()).toBe(1);
    await page.screenshot({ path: path.join(REPO_ROOT, 'test-artifacts', 'web-chat-offline.png') });
    gw = await start();
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant:not(.streaming)').length === 2, undefined, { timeout: 20_000 });
    expect(await page.locator('.msg.user .body').allTextContents()).toEqual(['before the outage', 'typed while offline']);
    expect(await page.locator('.msg.assistant').nth(1).textContent()).toContain('turn 2');
    expect(await page.locator('.msg.user.pending').count()).toBe(0);
    await page.reload();
    await page.waitForSelector('#status-dot.online');
    await page.waitForTimeout(300);
    expect(await page.locator('.msg').count()).toBe(4);
    gw.proc.kill('SIGTERM');
    expect((await gw.exited(10_000)).code).toBe(0);
  }, 90_000);
});
