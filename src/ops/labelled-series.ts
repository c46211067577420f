/**
 * Counters and histograms for the per-turn path. prom-client hashes the label object on every
 * `inc`/`observe` (~0.3–0.5 µs each); these keep one plain record per label set, found by a
 * string key the caller already has, and hand prom-client's registry the finished values only
 * when scraped (its `get()` contract), so the text format is prom-client's own.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

abstract class Series<R> {
  protected readonly records = new Map<string, R>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  protected record(key: string, labels: () => Labels, make: (labels: Labels) => R): R {
    let r = this.records.get(key);
    if (r === undefined) {
      r = make(labels());
      this.records.set(key, r);
    }
    return r;
  }

  abstract get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' };

  /** prom-client calls this on `registry.resetMetrics()`: values go to zero in place (callers may hold a record). */
  reset(): void {
    for (const r of this.records.values()) this.zero(r);
  }

  protected abstract zero(record: R): void;
}

export class LabelledCounter extends Series<{ labels: Labels; value: number }> {
  constructor(name: string, help: string, registry: Registry) {
    super(name, help, 'counter', registry);
  }

  /** `key` must identify `labels()` exactly (e.g. the label values joined by `\0`). */
  inc(key: string, labels: () => Labels, by = 1): void {
    this.child(key, labels).value += by;
  }

  /** The record of one label set, to keep and add to directly (`child.value += n`) on a hot path. */
  child(key: string, labels: () => Labels): { value: number } {
    return this.record(key, labels, (l) => ({ labels: l, value: 0 }));
  }

  protected zero(r: { value: number }): void {
    r.value = 0;
  }

  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum' as const, values: [...this.records.values()].map((r) => ({ value: r.value, labels: r.labels })) };
  }
}

export interface HistogramRecord {
  labels: Labels;
  /** Per bucket (not cumulative), plus one past the last bound for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class LabelledHistogram extends Series<HistogramRecord> {
  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', registry);
  }

  observe(key: string, labels: () => Labels, value: number): void {
    this.observeInto(this.child(key, labels), value);
  }

  /** The record of one label set, to keep and pass to `observeInto` on a hot path. */
  child(key: string, labels: () => Labels): HistogramRecord {
    return this.record(key, labels, (l) => ({ labels: l, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
  }

  protected zero(r: HistogramRecord): void {
    r.counts.fill(0);
    r.sum = 0;
    r.count = 0;
  }

  observeInto(r: HistogramRecord, value: number): void {
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    r.counts[i]!++;
    r.sum += value;
    r.count++;
  }

  get() {
    const values: MetricValue[] = [];
    for (const r of this.records.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += r.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...r.labels, le: String(le) }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...r.labels, le: '+Inf' }, value: r.count });
      values.push({ metricName: `${this.name}_sum`, labels: r.labels, value: r.sum });
      values.push({ metricName: `${this.name}_count`, labels: r.labels, value: r.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum' as const, values };
  }
}
