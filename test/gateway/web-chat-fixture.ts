/// <reference lib="dom" />
/**
 * For the web chat page tests: a real `bot start` process (gateway on a free port) with a
 * bots.yaml of the test's choosing, a fake OpenAI-compatible model whose replies the test picks
 * by message text, and headless Chromium. Screenshots go to test-artifacts/webchat/ (gitignored).
 */
import { mkdirSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import type { FakeOpenAI, FakeReply } from '../helpers/fake-openai-server.js';
import { REPO_ROOT, startCli, type Sandbox } from '../helpers/run-cli.js';

export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'webchat');
mkdirSync(ARTIFACTS, { recursive: true });
export const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

/** 200 words: long enough to stop half-way when streamed with a delay per word. */
export const LONG_REPLY = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
export const CODE_REPLY = ['Here you go:', '', '```python', 'def greet(name):', '    # say hello', '    return f"hello {name}"', '```', '', 'and a shell one:', '', '```bash', 'echo "done"', '```'].join('\n');

/** Replies by the user's last message: "slow" streams LONG_REPLY word by word, "code" answers with code blocks. */
export function replyFor(last: string): FakeReply {
  if (last.includes('slow')) return { text: LONG_REPLY, delayMs: 60 };
  if (last.includes('code')) return { text: CODE_REPLY, delayMs: 15 };
  return { text: `You said: ${last}`, delayMs: 2 };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export interface GatewayYaml {
  model: FakeOpenAI;
  /** Token identities (then loopback trust is off). */
  tokens?: Record<string, string>;
}

export function botsYaml(o: GatewayYaml): string {
  const auth = o.tokens ? `  auth: { tokens: { ${Object.entries(o.tokens).map(([k, v]) => `${k}: "${v}"`).join(', ')} } }\n` : '';
  return `
agents:
  assistant: { name: Assistant, model: fake-model, base_url: "${o.model.url}", api_key: fake-key-for-tests }
store: { backend: file, path: ~/.bothost/sessions }
gateway:
  enabled: true
  host: 127.0.0.1
  port: \${BOTHOST_GATEWAY_PORT}
  allow_loopback_without_auth: ${o.tokens ? 'false' : 'true'}
${auth}  session: { persist: true }
log: { level: info }
`;
}

/** `bot start` with `yaml` in the sandbox; resolves with its URL and a stop function. */
export async function startWebGateway(sb: Sandbox, yaml: string): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  await fsp.writeFile(path.join(sb.cwd, 'bots.yaml'), yaml);
  const port = await freePort();
  const cli = startCli(sb, ['start'], { env: { BOTHOST_GATEWAY_PORT: String(port) }, timeoutMs: 120_000 });
  await cli.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 20_000 });
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    async stop() {
      cli.proc.kill('SIGTERM');
      expect((await cli.exited(10_000)).code).toBe(0);
    },
  };
}

/** A fresh browser profile (its own localStorage) that may read the clipboard and run injected scripts (axe). */
export function newContext(browser: Browser, options: { dark?: boolean } = {}): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: 1000, height: 760 },
    bypassCSP: true,
    permissions: ['clipboard-read', 'clipboard-write'],
    colorScheme: options.dark ? 'dark' : 'light',
  });
}

export async function openChat(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('#status-dot.online');
  return page;
}

/** Type and send with the keyboard; wait until the reply is complete. */
export async function say(page: Page, text: string): Promise<void> {
  const before = await page.locator('.msg.assistant:not(.streaming)').count();
  await page.locator('#input').fill(text);
  await page.locator('#input').press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('.msg.assistant:not(.streaming)').length > n && !document.querySelector('.msg.streaming'), before, { timeout: 20_000 });
}

/** axe-core's serious and critical violations of WCAG 2 A/AA on the page as it is now. */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string; nodes: string[] }>> {
  await page.addScriptTag({ path: path.join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js') });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[]; failureSummary: string }> }> }> } }).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }));
}
