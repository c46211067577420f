/// <reference lib="dom" />
/**
 * The web chat's features in headless Chromium against a real `bot start` and a fake model:
 * highlighted code blocks with copy buttons (and streaming that re-renders only the streaming
 * message), Stop (button and Escape) and Retry, the conversation sidebar (new, switch, rename,
 * delete), timestamps, notices that survive a reload, and a refused long message kept in the box.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { useSandbox } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';
import { LONG_REPLY, botsYaml, launchChromium, newContext, openChat, replyFor, say, shot, startWebGateway } from './web-chat-fixture.js';

const box = useSandbox();
let browser: Browser;
let model: FakeOpenAI;
beforeAll(async () => {
  browser = await launchChromium();
  model = await startFakeOpenAI({ responder: (body) => replyFor(String(body.messages?.at(-1)?.content ?? '')) });
});
afterAll(async () => {
  await browser?.close();
  await model?.close();
});

describe('web chat features', () => {
  it('code blocks are highlighted with a working copy button; streaming re-renders only the streaming message', async () => {
    const gw = await startWebGateway(box.sb, botsYaml({ model }));
    const context = await newContext(browser);
    const page = await openChat(context, gw.url);
    await say(page, 'hello there');
    // Watch the earlier messages while a code reply streams in: none of them may change.
    await page.evaluate(() => {
      const w = window as unknown as { __earlier: Element[]; __touched: number };
      w.__earlier = Array.from(document.querySelectorAll('.msg'));
      w.__touched = 0;
      new MutationObserver((records) => {
        for (const r of records) if (w.__earlier.some((el) => el.contains(r.target))) w.__touched++;
      }).observe(document.getElementById('log')!, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await say(page, 'some code please');
    const touched = await page.evaluate(() => {
      const w = window as unknown as { __earlier: Element[]; __touched: number };
      return { touched: w.__touched, stillThere: w.__earlier.every((el) => el.isConnected) };
    });
    expect(touched).toEqual({ touched: 0, stillThere: true });

    const reply = page.locator('.msg.assistant').nth(1);
    expect(await reply.locator('pre').count()).toBe(2);
    expect(await reply.locator('pre code.hljs .hljs-keyword').first().textContent()).toBe('def');
    expect(await reply.locator('pre code.hljs .hljs-comment').first().textContent()).toBe('# say hello');
    expect(await reply.locator('pre code.hljs .hljs-built_in, pre code.hljs .hljs-string').count()).toBeGreaterThan(0);
    const copy = reply.locator('pre button.copy').first();
    expect(await copy.getAttribute('aria-label')).toBe('Copy code (python)');
    await copy.click();
    await page.waitForFunction(() => document.querySelector('.msg.assistant pre button.copy')?.textContent === 'Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('def greet(name):\n    # say hello\n    return f"hello {name}"\n');
    await shot(page, 'code-blocks');
    await context.close();
    await gw.stop();
  }, 90_000);

  it('Stop keeps the partial reply marked stopped (button and Escape), across a reload; Retry sends the message again; a failed reply can be retried', async () => {
    const gw = await startWebGateway(box.sb, botsYaml({ model }));
    const context = await newContext(browser);
    const page = await openChat(context, gw.url);
    await page.locator('#input').fill('tell me something slow');
    await page.locator('#input').press('Enter');
    await page.waitForFunction(() => (document.querySelector('.msg.streaming') as HTMLElement | null)?.dataset.raw?.includes('word5') === true);
    expect(await page.locator('#stop').isVisible()).toBe(true);
    expect(await page.locator('#stop').getAttribute('hidden')).toBeNull();
    await page.locator('#stop').click();
    const stopped = page.locator('.msg.assistant.stopped');
    await stopped.waitFor();
    expect(await page.locator('#stop').isHidden()).toBe(true);
    const partial = (await stopped.getAttribute('data-raw'))!;
    expect(partial.length).toBeGreaterThan(10);
    expect(LONG_REPLY.startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(LONG_REPLY.length);
    expect(await stopped.locator('.stopped-mark').textContent()).toBe('stopped');
    await shot(page, 'stopped');

    // A reload shows the same stopped reply, from the server's log.
    await page.reload();
    await page.waitForSelector('#status-dot.online');
    expect(await page.locator('.msg.assistant.stopped').getAttribute('data-raw')).toBe(partial);

    // Retry on the stopped reply sends the same message as a new turn; Escape stops that one.
    await page.locator('.msg.assistant.stopped button.action', { hasText: 'Retry' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.msg.user').length === 2 && (document.querySelector('.msg.streaming') as HTMLElement | null)?.dataset.raw?.includes('word3') === true);
    expect(await page.locator('.msg.user .body').allTextContents()).toEqual(['tell me something slow', 'tell me something slow']);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant.stopped').length === 2);

    // A reply that fails for good shows an error with Retry; Retry gets the answer.
    model.failNext(400);
    await page.locator('#input').fill('this one fails first');
    await page.locator('#input').press('Enter');
    const error = page.locator('.msg.error', { hasText: 'went wrong' });
    await error.waitFor();
    await shot(page, 'failed-reply');
    await error.locator('button.action', { hasText: 'Retry' }).click();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.msg.assistant:not(.streaming)')).some((el) => el.textContent?.includes('You said: this one fails first')));
    expect(await page.locator('.msg.error').count()).toBe(0);
    await context.close();
    await gw.stop();
  }, 90_000);

  it('conversations: new chat keeps the old one, newest first, switch, rename and delete (deleted on the server too)', async () => {
    const gw = await startWebGateway(box.sb, botsYaml({ model }));
    const context = await newContext(browser);
    const page = await openChat(context, gw.url);
    await say(page, 'first conversation about apples');
    const firstId = await page.evaluate(() => JSON.parse(localStorage.getItem('bothost.session')!) as string);
    await page.locator('#new-chat').click();
    await page.waitForSelector('#status-dot.online');
    expect(await page.locator('.msg').count()).toBe(0);
    await say(page, 'second conversation about pears');
    const secondId = await page.evaluate(() => JSON.parse(localStorage.getItem('bothost.session')!) as string);
    expect(secondId).not.toBe(firstId);
    const titles = () => page.locator('.conversation .open').allTextContents();
    expect(await titles()).toEqual(['second conversation about pears', 'first conversation about apples']);
    expect(await page.locator('.conversation .open[aria-current="page"]').textContent()).toBe('second conversation about pears');

    // Switch back: the first conversation's messages, and it continues there.
    await page.locator('.conversation .open', { hasText: 'apples' }).click();
    await page.waitForSelector('#status-dot.online');
    await page.waitForFunction(() => document.querySelector('.msg.user .body')?.textContent === 'first conversation about apples');
    await say(page, 'more about apples');
    expect(await page.locator('.msg.user .body').allTextContents()).toEqual(['first conversation about apples', 'more about apples']);
    expect(await titles()).toEqual(['first conversation about apples', 'second conversation about pears']);

    // Rename with the keyboard: Enter saves; it survives a reload.
    await page.locator('.conversation', { hasText: 'apples' }).hover(); // its tools show on hover (and on focus)
    await page.locator('.conversation', { hasText: 'apples' }).getByRole('button', { name: /^Rename/ }).click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('Apples');
    await page.keyboard.press('Enter');
    expect(await titles()).toEqual(['Apples', 'second conversation about pears']);
    await page.reload();
    await page.waitForSelector('#status-dot.online');
    expect(await titles()).toEqual(['Apples', 'second conversation about pears']);
    await shot(page, 'conversations');

    // Delete the other one (confirmed): gone from the list and from the server.
    page.once('dialog', (d) => void d.accept());
    await page.locator('.conversation', { hasText: 'pears' }).hover();
    await page.locator('.conversation', { hasText: 'pears' }).getByRole('button', { name: /^Delete/ }).click();
    expect(await titles()).toEqual(['Apples']);
    const probe = await TestClient.open(`ws://127.0.0.1:${gw.port}/ws`);
    await expectEventually(async () => {
      const c = await TestClient.open(`ws://127.0.0.1:${gw.port}/ws`);
      const joined = await c.join({ session_id: secondId });
      c.close();
      return joined.resumed === false;
    });
    expect((await probe.join({ session_id: firstId })).resumed).toBe(true);
    probe.close();
    await context.close();
    await gw.stop();
  }, 90_000);

  it('timestamps on hover, notices survive a reload, a refused long message stays in the box', async () => {
    const gw = await startWebGateway(box.sb, botsYaml({ model }));
    const context = await newContext(browser);
    const page = await openChat(context, gw.url);
    await say(page, 'what time is it');
    const user = page.locator('.msg.user').first();
    expect(await user.getAttribute('title')).toMatch(/^Sent /);
    expect(await page.locator('.msg.assistant').first().getAttribute('title')).toMatch(/^Received /);
    const time = user.locator('time');
    expect(await time.isVisible()).toBe(false);
    await user.hover();
    expect(await time.isVisible()).toBe(true);
    expect(Date.parse((await time.getAttribute('datetime'))!)).toBeGreaterThan(Date.now() - 60_000);

    await page.locator('#input').fill('/status');
    await page.locator('#input').press('Enter');
    const notice = page.locator('.msg.notice');
    await notice.waitFor();
    const text = await notice.locator('.body').textContent();
    await page.reload();
    await page.waitForSelector('#status-dot.online');
    expect(await page.locator('.msg.notice .body').allTextContents()).toEqual([text]);
    // /new clears the view: only its own notice stays, also after a reload.
    await page.locator('#input').fill('/new');
    await page.locator('#input').press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant').length === 0 && document.querySelectorAll('.msg.notice').length === 1);
    const cleared = await page.locator('.msg.notice .body').textContent();
    expect(cleared).not.toBe(text);
    await page.reload();
    await page.waitForSelector('#status-dot.online');
    expect(await page.locator('.msg.notice .body').allTextContents()).toEqual([cleared]);

    const long = 'x'.repeat(16_001);
    await page.locator('#input').fill(long);
    await page.locator('#input').press('Enter');
    await page.locator('.msg.error', { hasText: 'limit' }).waitFor();
    expect(await page.locator('#input').inputValue()).toBe(long);
    // Nothing (the conversation was cleared; commands are answered, not kept); the long one is not shown as sent.
    expect(await page.locator('.msg.user').count()).toBe(0);
    await shot(page, 'notice-and-long-message');
    await context.close();
    await gw.stop();
  }, 90_000);
});

async function expectEventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
