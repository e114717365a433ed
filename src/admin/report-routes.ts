import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.ts';
import type { UsagePoint } from '../store/usage-store.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { AdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';
import { adminKeyView } from './admin-views.ts';
import { windowBounds } from './usage-rollup.ts';

const ADDRESSES_SHOWN = 20;
const ADDRESSES_COUNTED = 1000;

interface ChartPoint {
  t: string;
  requests: number;
  denied: number;
  bytesIn: number;
  bytesOut: number;
  /** Refusals in this step, by error code. */
  denials: Record<string, number>;
}

/** Sums per-minute points into fixed steps, with empty steps present, so a chart needs no gap logic. */
function toChartPoints(series: readonly UsagePoint[], from: number, to: number, step: number): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (let t = from; t < to; t += step) points.push({ t: new Date(t).toISOString(), requests: 0, denied: 0, bytesIn: 0, bytesOut: 0, denials: {} });
  for (const minute of series) {
    const point = points[Math.floor((minute.minute - from) / step)];
    if (point === undefined) continue;
    point.requests += minute.requests;
    point.bytesIn += minute.bytesIn;
    point.bytesOut += minute.bytesOut;
    for (const [code, count] of Object.entries(minute.denials)) {
      point.denied += count;
      point.denials[code] = (point.denials[code] ?? 0) + count;
    }
  }
  return points;
}

export function registerReportRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Store): void {
  registerOperation(app, routes, 'getKeyUsage', async (request) => {
    const { id } = request.params as { id: string };
    const { window } = request.query as { window: string };
    if ((await store.getKeyById(id)) === null) throw new AdminProblem('not_found', `No key with id ${id}.`);
    const { from, to, step } = windowBounds(window, Date.now());
    const series = await store.usageSeries(id, from, to);
    const addresses = await store.usageAddresses(id, from, to, ADDRESSES_COUNTED);
    const denials: Record<string, number> = {};
    const totals = { requests: 0, denied: 0, bytesIn: 0, bytesOut: 0, distinctAddresses: addresses.length };
    for (const minute of series) {
      totals.requests += minute.requests;
      totals.bytesIn += minute.bytesIn;
      totals.bytesOut += minute.bytesOut;
      for (const [code, count] of Object.entries(minute.denials)) {
        denials[code] = (denials[code] ?? 0) + count;
        totals.denied += count;
      }
    }
    return {
      window, step: step / 1000, from: new Date(from).toISOString(), to: new Date(to).toISOString(),
      points: toChartPoints(series, from, to, step), totals, denials,
      addresses: addresses.slice(0, ADDRESSES_SHOWN).map((row) => ({ ...row, lastSeen: new Date(row.lastSeen).toISOString() })),
    };
  });

  registerOperation(app, routes, 'getUsage', async (request) => {
    const { window, limit } = request.query as { window: string; limit: number };
    const now = Date.now();
    const { from, to } = windowBounds(window, now);
    const totals = await store.usageTotals(from, to, limit);
    const keys = [];
    for (const total of totals) {
      const record = await store.getKeyById(total.keyId);
      keys.push({ ...total, key: record === null ? null : adminKeyView(record, now) });
    }
    return { window, from: new Date(from).toISOString(), to: new Date(to).toISOString(), keys };
  });
}
