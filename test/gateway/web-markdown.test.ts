/// <reference lib="dom" />
/**
 * Replies render as Markdown in the web chat (headless Chromium against a real `bot start`):
 * bold, lists, tables, links and code blocks with a copy button — and nothing a model writes as
 * HTML runs or reaches the page (script, event handlers, javascript: links).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { REPO_ROOT, startCli, useSandbox } from '../helpers/run-cli.js';

const REPLY = [
  '## Plan',
  'Here is **bold**, *italic* and `code`.',
  '',
  '- one',
  '- two',
  '',
  '| a | b |',
  '|---|---|',
  '| 1 | 2 |',
  '',
  '```js',
  'const answer = 42;',
  '```',
  '',
  '[docs](https://example.org/docs) and [bad](javascript:window.__xss=1)',
  '<img src=x onerror="window.__xss=2"><script>window.__xss=3</script>',
  '<b onclick="window.__xss=4">click</b>',
].join('\n');

const box = useSandbox({ withRepoConfig: true });
let browser: Browser;
let model: FakeOpenAI;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  model = await startFakeOpenAI({ responder: () => ({ text: REPLY, delayMs: 5 }) });
});
afterAll(async () => {
  await browser?.close();
  await model?.close();
});

describe('web chat: Markdown replies', () => {
  it('renders Markdown, adds a copy button to code, and runs none of the HTML the model wrote', async () => {
    const port = await freePort();
    const env = { BOTHOST_GATEWAY_PORT: String(port), OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'web-markdown-key', BOT_MODEL: 'fake-model' };
    const gw = startCli(box.sb, ['start'], { env, timeoutMs: 90_000 });
    await gw.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 15_000 });
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('#status-dot.online');
    await page.fill('#input', 'show me markdown');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant:not(.streaming)').length === 1);
    const reply = page.locator('.msg.assistant').first();
    expect(await reply.locator('h2').textContent()).toBe('Plan');
    expect(await reply.locator('strong').first().textContent()).toBe('bold');
    expect(await reply.locator('li').allTextContents()).toEqual(['one', 'two']);
    expect(await reply.locator('td').allTextContents()).toEqual(['1', '2']);
    expect(await reply.locator('pre code').textContent()).toContain('const answer = 42;');
    expect(await reply.locator('pre button.copy').count()).toBe(1);
    expect(await reply.locator('a[href="https://example.org/docs"]').getAttribute('rel')).toContain('noopener');
    // Nothing executable survived: no script, no handlers, no javascript: URLs, no images.
    expect(await reply.locator('script, img, [onclick], [onerror]').count()).toBe(0);
    expect(await reply.locator('a[href^="javascript:"]').count()).toBe(0);
    await reply.locator('b', { hasText: 'click' }).click().catch(() => undefined);
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    // A reload renders the cached reply the same way.
    await page.reload();
    await page.waitForSelector('#status-dot.online');
    expect(await page.locator('.msg.assistant strong').first().textContent()).toBe('bold');
    const dir = path.join(REPO_ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, 'web-chat-markdown.png') });
    gw.proc.kill('SIGTERM');
    expect((await gw.exited(10_000)).code).toBe(0);
  }, 90_000);
});
