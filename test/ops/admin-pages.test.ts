/// <reference lib="dom" />
/**
 * The gateway's `/admin/` pages in headless Chromium against a real spawned `bot gateway`, a real
 * `bot worker` and a real Redis queue: refused without a token and for an identity not listed,
 * a cross-origin POST refused, the login form, the Bull Board queue view, a real dead letter
 * (a turn the model refused) listed, and its Retry button running it again exactly once.
 * In embedded mode `/admin/` says there is no queue to show.
 */
import { promises as fsp } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { distributedSuite, freePort, startWorker, waitFor } from '../helpers/distributed-harness.js';
import { killAllCli, startCli, useSandbox } from '../helpers/run-cli.js';

const suite = distributedSuite();
const box = useSandbox();
const OPS_TOKEN = 'ops-admin-token-for-tests-0001';
const ALICE_TOKEN = 'alice-chat-token-for-tests-0002';
const ADMIN_YAML = `gateway:\n  auth: { tokens: { ops: "${OPS_TOKEN}", alice: "${ALICE_TOKEN}" } }\nadmin: { enabled: true, identities: [ops] }\n`;

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(() => killAllCli());

const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(url, { redirect: 'manual', headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

describe('/admin/ pages', () => {
  it('refuse strangers, list a dead letter, show the queue, and retry it exactly once', async () => {
    const { env, ingress, prefix, queueName } = await suite.setUp('admin', { fakeModel: true });
    await fsp.appendFile(env.configPath, `metrics: { port: 0 }\n${ADMIN_YAML}`);
    await startWorker('w1', env).ready();
    suite.fake.failNext(401);
    await ingress.enqueue('s-admin', 'u1', 'm1', 'please fail once');
    await waitFor('the failure notice', () => ingress.events.some((e) => e.kind === 'failed' && e.messageId === 'm1'));
    const modelCalls = () => suite.fake.requests.filter((r) => JSON.stringify(r.body?.messages ?? []).includes('please fail once')).length;
    expect(modelCalls()).toBe(1);

    const port = await freePort();
    const gw = startCli(env.sandbox, ['--config', env.configPath, 'gateway', '--port', String(port)], { timeoutMs: 90_000 });
    await gw.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 15_000 });
    const base = `http://127.0.0.1:${port}`;

    // Refused: no token, a wrong token, a valid identity that is not listed, a cross-origin POST.
    expect((await get(`${base}/admin/`, undefined, { accept: 'application/json' })).status).toBe(401);
    expect((await get(`${base}/admin/queues/`)).status).toBe(401);
    expect((await get(`${base}/admin/queues/api/queues`, 'not-a-token')).status).toBe(401);
    const alice = await get(`${base}/admin/`, ALICE_TOKEN, { accept: 'application/json' });
    expect([alice.status, await alice.json()]).toEqual([403, { error: 'identity "alice" is not listed in admin.identities' }]);
    expect((await get(`${base}/admin/queues/api/queues`, ALICE_TOKEN)).status).toBe(403);
    const crossSite = await fetch(`${base}/admin/dead-letters/retry`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: `Bearer ${OPS_TOKEN}`, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'inboundId=b%3Am1',
    });
    expect(crossSite.status).toBe(403);
    const noOrigin = await fetch(`${base}/admin/dead-letters/retry`, { method: 'POST', redirect: 'manual', headers: { authorization: `Bearer ${OPS_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'inboundId=b%3Am1' });
    expect(noOrigin.status).toBe(403);
    expect(await ingress.client.llen(`${prefix}:dead`)).toBe(1);
    // The listed identity with a bearer token sees the Bull Board API.
    const api = await get(`${base}/admin/queues/api/queues`, OPS_TOKEN);
    expect(api.status).toBe(200);
    expect(JSON.stringify(await api.json())).toContain(queueName);

    const page = await browser.newPage();
    // Signing in with a token that is not listed is refused on the form.
    await page.goto(`${base}/admin/`);
    await page.fill('input[name=token]', ALICE_TOKEN);
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('not listed');
    await page.fill('input[name=token]', OPS_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#dead-letters');
    const rows = page.locator('#dead-letters tr');
    expect(await rows.count()).toBe(2);
    const row = await rows.nth(1).textContent();
    expect(row).toContain('s-admin');
    expect(row).toContain('b:m1');
    expect(row).toMatch(/401|key/i);
    expect(await page.textContent('body')).toContain('Signed in as ops');

    // The Bull Board queue view, with the cookie the form set.
    await page.goto(`${base}/admin/queues/`);
    await page.waitForFunction((name) => document.body.innerText.includes(name), queueName, { timeout: 15_000 });

    // Retry from the page: the turn runs once more and is answered; the list is empty.
    await page.goto(`${base}/admin/`);
    await page.click('#dead-letters button:has-text("Retry")');
    await page.waitForSelector('[role=status]');
    expect(await page.textContent('[role=status]')).toContain('queued b:m1 again');
    expect(await page.textContent('body')).toContain('Dead letters (0)');
    await waitFor('the retried turn\'s reply', () => ingress.finals('m1').length === 1);
    // Submitting the same form again (a double submit) finds nothing to retry.
    await Promise.all([
      page.waitForURL(/error=/),
      page.evaluate(() => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = '/admin/dead-letters/retry';
        form.innerHTML = '<input name="inboundId" value="b:m1">';
        document.body.append(form);
        form.submit();
      }),
    ]);
    expect(await page.textContent('[role=status]')).toContain('no dead letter "b:m1"');
    await new Promise((r) => setTimeout(r, 500));
    expect(modelCalls()).toBe(2);
    expect(ingress.finals('m1')).toHaveLength(1);
    const entries = await ingress.entries('s-admin');
    expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(['please fail once']);
    expect(await ingress.client.llen(`${prefix}:dead`)).toBe(0);
    await page.screenshot({ path: 'test-artifacts/admin-page.png' }).catch(() => undefined);
    await page.close();
  }, 120_000);

  it('lists a stuck session (turns queued, no lease) oldest first', async () => {
    const { env, ingress } = await suite.setUp('admin-stuck');
    await fsp.appendFile(env.configPath, `metrics: { enabled: false }\n${ADMIN_YAML}`);
    // No worker runs: both sessions wait with nobody draining them.
    await ingress.enqueue('s-old', 'u1', 'o1');
    await new Promise((r) => setTimeout(r, 50));
    await ingress.enqueue('s-new', 'u2', 'n1');
    await ingress.enqueue('s-new', 'u2', 'n2');
    const port = await freePort();
    const gw = startCli(env.sandbox, ['--config', env.configPath, 'gateway', '--port', String(port)], { timeoutMs: 60_000 });
    await gw.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 15_000 });
    const res = await get(`http://127.0.0.1:${port}/admin/?min_age=0`, OPS_TOKEN);
    expect(res.status).toBe(200);
    const html = await res.text();
    const table = html.slice(html.indexOf('<table id="stuck">'), html.indexOf('</table>', html.indexOf('<table id="stuck">')));
    expect(table.indexOf('s-old')).toBeGreaterThan(0);
    expect(table.indexOf('s-new')).toBeGreaterThan(table.indexOf('s-old'));
    expect(table).toMatch(/s-new<\/code><\/td><td>2</);
    // The default threshold (10 s) leaves out turns queued a moment ago.
    expect(await (await get(`http://127.0.0.1:${port}/admin/`, OPS_TOKEN)).text()).toContain('Stuck sessions (0)');
  }, 60_000);

  it('in embedded mode says there is no queue to show', async () => {
    const port = await freePort();
    const configPath = `${box.sb.root}/bots.yaml`;
    await fsp.writeFile(configPath, `store: { backend: memory }\nmetrics: { enabled: false }\n${ADMIN_YAML}`);
    const gw = startCli(box.sb, ['--config', configPath, 'gateway', '--port', String(port)], { timeoutMs: 60_000 });
    await gw.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 15_000 });
    expect((await get(`http://127.0.0.1:${port}/admin/`)).status).toBe(401);
    const res = await get(`http://127.0.0.1:${port}/admin/`, OPS_TOKEN);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('embedded mode');
    expect((await get(`http://127.0.0.1:${port}/admin/queues/`, OPS_TOKEN)).status).toBe(404);
  }, 60_000);
});
