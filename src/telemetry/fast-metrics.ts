/**
 * Metrics cheap enough for the hot path. prom-client's own counters and histograms hash a
 * label object on every update; these keep plain numbers that a request bumps directly (a
 * child is bound to its label value once, at start-up) and hand prom-client's registry the
 * values only when `/metrics` is scraped. They implement the part of prom-client's metric
 * interface that `Registry#registerMetric` and `Registry#metrics` use.
 */
import type { Registry } from 'prom-client';

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

/** One label value's count; `inc` is a field update. */
export class CounterChild {
  value = 0;

  inc(amount = 1): void {
    this.value += amount;
  }
}

/** A counter with one label, whose children are created once and kept. */
export class CounterFamily {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #label: string;
  readonly #children = new Map<string, CounterChild>();

  constructor(registry: Registry, name: string, help: string, label: string, values: readonly string[] = []) {
    this.name = name;
    this.help = help;
    this.#label = label;
    for (const value of values) this.child(value);
    registry.registerMetric(this as never);
  }

  /** The child for a label value; call at start-up and keep it. */
  child(value: string): CounterChild {
    let child = this.#children.get(value);
    if (child === undefined) this.#children.set(value, (child = new CounterChild()));
    return child;
  }

  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const [label, child] of this.#children) values.push({ value: child.value, labels: { [this.#label]: label } });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const child of this.#children.values()) child.value = 0;
  }
}

/** A histogram without labels: observing is a short scan of the bounds and three additions. */
export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: Float64Array;
  /** Per bucket (not cumulative); the last one is +Inf. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(registry: Registry, name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#bounds = Float64Array.from(bounds);
    this.#counts = new Float64Array(bounds.length + 1);
    registry.registerMetric(this as never);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let index = 0;
    while (index < bounds.length && value > (bounds[index] as number)) index++;
    this.#counts[index]! += 1;
    this.#sum += value;
    this.#count++;
  }

  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    let cumulative = 0;
    this.#bounds.forEach((bound, index) => {
      cumulative += this.#counts[index] as number;
      values.push({ value: cumulative, labels: { le: bound }, metricName: `${this.name}_bucket` });
    });
    values.push({ value: this.#count, labels: { le: '+Inf' }, metricName: `${this.name}_bucket` });
    values.push({ value: this.#sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: this.#count, labels: {}, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}

/** A counter or gauge whose values are read from the code that owns them, at scrape time. */
export class CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly aggregator = 'sum';
  readonly #read: () => Array<{ value: number; labels?: Record<string, string> }>;

  constructor(registry: Registry, name: string, help: string, type: 'counter' | 'gauge', read: () => Array<{ value: number; labels?: Record<string, string> }>) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#read = read;
    registry.registerMetric(this as never);
  }

  get(): MetricSnapshot {
    const values = this.#read().map(({ value, labels }) => ({ value, labels: labels ?? {} }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {}
}
