/// <reference lib="dom" />
/**
 * Who may use the web chat and how: a gateway that needs a token (the page asks for it, keeps
 * it, and lists the identity's conversations from the server — never another identity's), and
 * accessibility: keyboard-only use, visible focus, a polite live region for replies, and no
 * serious or critical axe-core violations in the light and the dark theme.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { useSandbox } from '../helpers/run-cli.js';
import { axeViolations, botsYaml, launchChromium, newContext, openChat, replyFor, say, shot, startWebGateway } from './web-chat-fixture.js';

const ALICE = 'alice-web-token-TEST-FAKE';
const BOB = 'bob-web-token-TEST-FAKE';
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

const titles = (page: Page) => page.locator('.conversation .open').allTextContents();

describe('web chat: tokens', () => {
  it('asks for a token when the gateway needs one; each identity sees only its own conversations, from the server', async () => {
    const gw = await startWebGateway(box.sb, botsYaml({ model, tokens: { alice: ALICE, bob: BOB } }));
    const aliceCtx = await newContext(browser);
    const alice = await aliceCtx.newPage();
    await alice.goto(gw.url);
    await alice.waitForSelector('#token-form:not([hidden])');
    expect(await alice.evaluate(() => document.activeElement?.id)).toBe('token-input');
    expect(await axeViolations(alice)).toEqual([]);
    await shot(alice, 'token-form');
    // A wrong token: refused, the field asks again.
    await alice.keyboard.type('not-a-valid-token');
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('#token-form:not([hidden])');
    await alice.waitForFunction(() => document.getElementById('status-text')?.textContent?.startsWith('not authorized') === true);
    expect(await alice.locator('#status-dot.online').count()).toBe(0);
    await alice.locator('#token-input').focus();
    await alice.keyboard.type(ALICE);
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('#status-dot.online');
    expect(await alice.locator('#token-form').isHidden()).toBe(true);
    await say(alice, 'alice secret topic');
    await alice.reload(); // the token is kept
    await alice.waitForSelector('#status-dot.online');
    expect(await titles(alice)).toEqual(['alice secret topic']);

    const bobCtx = await newContext(browser);
    const bob = await bobCtx.newPage();
    const bobFrames: string[] = [];
    bob.on('websocket', (ws) => ws.on('framereceived', (f) => bobFrames.push(String(f.payload))));
    await bob.goto(gw.url);
    await bob.waitForSelector('#token-form:not([hidden])');
    await bob.locator('#token-input').fill(BOB);
    await bob.locator('#token-save').click();
    await bob.waitForSelector('#status-dot.online');
    await say(bob, 'bob topic');
    await bob.waitForFunction(() => document.querySelectorAll('.conversation').length === 1);
    expect(await titles(bob)).toEqual(['bob topic']);
    expect(bobFrames.some((f) => f.includes('"type":"sessions"'))).toBe(true);
    expect(bobFrames.join('\n')).not.toContain('alice');

    // Alice on a fresh browser (no local history), token handed over in the link: her list comes from the server.
    const alice2Ctx = await newContext(browser);
    const alice2 = await openChat(alice2Ctx, `${gw.url}#token=${ALICE}`);
    expect(alice2.url()).not.toContain('token');
    await alice2.waitForFunction(() => Array.from(document.querySelectorAll('.conversation .open')).some((b) => b.textContent === 'alice secret topic'));
    expect(await titles(alice2)).not.toContain('bob topic');
    await alice2.locator('.conversation .open', { hasText: 'alice secret topic' }).click();
    await alice2.waitForFunction(() => document.querySelector('.msg.user .body')?.textContent === 'alice secret topic');
    await shot(alice2, 'token-server-list');
    for (const c of [aliceCtx, bobCtx, alice2Ctx]) await c.close();
    await gw.stop();
  }, 90_000);
});

describe('web chat: accessibility', () => {
  it('works by keyboard alone with visible focus, announces replies politely, and axe finds nothing serious in light and dark themes', async () => {
    const gw = await startWebGateway(box.sb, botsYaml({ model }));
    const context = await newContext(browser);
    const page = await openChat(context, gw.url);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('input');

    // Shift+Enter adds a line, Enter sends.
    await page.keyboard.type('line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two');
    expect(await page.locator('#input').inputValue()).toBe('line one\nline two');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('.msg.assistant:not(.streaming)') !== null);
    expect(await page.locator('.msg.user .body').first().textContent()).toBe('line one\nline two');
    // The reply is announced in a polite live region (not the streaming text itself).
    expect(await page.locator('[aria-live="polite"]').count()).toBe(1);
    await page.waitForFunction(() => document.getElementById('announcer')?.textContent?.includes('You said: line one') === true);

    // Enough on the page for axe to judge: code, a stopped reply, a notice, an error, two conversations.
    await say(page, 'show code');
    await page.keyboard.type('something slow');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (document.querySelector('.msg.streaming') as HTMLElement | null)?.dataset.raw?.includes('word3') === true);
    expect(await axeViolations(page)).toEqual([]); // while streaming: the Stop button, a busy message
    await page.keyboard.press('Escape');
    await page.locator('.msg.assistant.stopped').waitFor();
    await page.keyboard.type('/status');
    await page.keyboard.press('Enter');
    await page.locator('.msg.notice').waitFor();
    model.failNext(400);
    await page.keyboard.type('this fails');
    await page.keyboard.press('Enter');
    await page.locator('.msg.error').waitFor();

    // Tab through the page from the top: every stop is labelled and shows a focus ring.
    await page.evaluate(() => {
      // Start from the top of the document, as after opening the page with the keyboard.
      document.body.tabIndex = -1;
      document.body.focus();
      document.body.removeAttribute('tabindex');
    });
    const stops: Array<{ name: string; outline: string }> = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const stop = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        if (el === document.body) return null; // past the last control
        const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : '';
        return { name: (el.getAttribute('aria-label') || label || el.textContent || '').trim(), outline: getComputedStyle(el).outlineStyle };
      });
      if (!stop) break;
      stops.push(stop);
    }
    expect(stops.length).toBeGreaterThan(8);
    expect(stops[0]!.name).toBe('Skip to the message box');
    expect(stops[1]!.name).toBe('New chat');
    expect(stops.map((s) => s.name)).toContain('Message');
    expect(stops.map((s) => s.name)).toContain('Send');
    expect(stops.map((s) => s.name)).toContain('Retry: send the same message again');
    for (const s of stops) {
      expect(s.name.length, JSON.stringify(stops)).toBeGreaterThan(0);
      expect(s.outline, JSON.stringify(s)).not.toBe('none');
    }

    await page.emulateMedia({ colorScheme: 'light' });
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'light');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'dark');
    // The check can fail: text of too low contrast is reported.
    await page.evaluate(() => {
      const p = document.createElement('p');
      p.textContent = 'barely readable';
      p.style.cssText = 'color:#777;background:#888';
      document.getElementById('log')!.appendChild(p);
    });
    expect((await axeViolations(page)).map((v) => v.id)).toContain('color-contrast');
    await context.close();
    await gw.stop();
  }, 90_000);
});
