/**
 * The Prometheus scrape config and the Grafana dashboard in examples/ use only metric names the
 * Metrics registry really has (a renamed metric must not leave a silently empty panel), and the
 * dashboard covers every bothost_ metric.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { REPO_ROOT } from '../helpers/run-cli.js';

const METRIC_NAME = /\b(?:bothost|process|nodejs)_[a-z0-9_]+\b/g;

async function registeredNames(): Promise<Set<string>> {
  const metrics = new Metrics();
  metrics.watchQueue(async () => ({ waiting: 0, active: 0, deadLetters: 0, oldestWaitingSeconds: 0, outboxPending: [] }));
  metrics.watchConnections(() => 0);
  metrics.watchSpool(() => []);
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

describe('examples/ metric names', () => {
  it('the dashboard and the scrape config name only registered metrics; the dashboard shows every bothost_ one', async () => {
    const names = await registeredNames();
    const dashboard = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples/grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => e.match(METRIC_NAME) ?? []));
    const scrape = readFileSync(path.join(REPO_ROOT, 'examples/prometheus.yml'), 'utf8');
    const scraped = new Set(scrape.split('\n').filter((l) => !l.trim().startsWith('#')).flatMap((l) => l.match(METRIC_NAME) ?? []));
    expect(used.size).toBeGreaterThan(10);
    expect(scraped.size).toBeGreaterThan(0);
    for (const name of [...used, ...scraped]) expect(names, `${name} is not a registered metric`).toContain(name);
    const bothost = [...names].filter((n) => n.startsWith('bothost_') && !/_(bucket|sum|count)$/.test(n));
    const shown = new Set([...used].map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    for (const name of bothost) expect(shown, `the dashboard has no panel for ${name}`).toContain(name);
  });
});
