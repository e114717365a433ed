import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.ts';
import type { ApiUsageStep, UsagePoint, WebSocketMinute } from '../store/usage-store.ts';
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

/** Outcomes that are not refusals: the rest are denials and upstream errors the gateway answered. */
const FORWARDED = 'forwarded';
const ABORTED = 'aborted';

/** A key's WebSockets in the window and per step: opened summed, peak the highest of its minutes. */
function webSocketFigures(minutes: readonly WebSocketMinute[], from: number, to: number, step: number) {
  const points: Array<{ t: string; opened: number; peak: number }> = [];
  for (let t = from; t < to; t += step) points.push({ t: new Date(t).toISOString(), opened: 0, peak: 0 });
  let [opened, peak] = [0, 0];
  for (const minute of minutes) {
    opened += minute.opened;
    peak = Math.max(peak, minute.peak);
    const point = points[Math.floor((minute.minute - from) / step)];
    if (point === undefined) continue;
    point.opened += minute.opened;
    point.peak = Math.max(point.peak, minute.peak);
  }
  return { opened, peak, points };
}

/** Each API's totals by outcome and a point per step (empty steps present), busiest first. */
function apiFigures(steps: readonly ApiUsageStep[], from: number, to: number, step: number) {
  const byApi = new Map<string, { api: string; requests: number; forwarded: number; denied: number; aborted: number; outcomes: Record<string, number>; points: Array<{ t: string; requests: number; denied: number }> }>();
  for (const row of steps) {
    let api = byApi.get(row.api);
    if (api === undefined) {
      const points = [];
      for (let t = from; t < to; t += step) points.push({ t: new Date(t).toISOString(), requests: 0, denied: 0 });
      byApi.set(row.api, (api = { api: row.api, requests: 0, forwarded: 0, denied: 0, aborted: 0, outcomes: {}, points }));
    }
    const point = api.points[Math.floor((row.at - from) / step)];
    for (const [outcome, count] of Object.entries(row.outcomes)) {
      api.requests += count;
      api.outcomes[outcome] = (api.outcomes[outcome] ?? 0) + count;
      if (outcome === FORWARDED) api.forwarded += count;
      else if (outcome === ABORTED) api.aborted += count;
      else api.denied += count;
      if (point === undefined) continue;
      point.requests += count;
      if (outcome !== FORWARDED && outcome !== ABORTED) point.denied += count;
    }
  }
  return [...byApi.values()].sort((a, b) => b.requests - a.requests || (a.api < b.api ? -1 : a.api > b.api ? 1 : 0));
}

export function registerReportRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Store): void {
  registerOperation(app, routes, 'getKeyUsage', async (request) => {
    const { id } = request.params as { id: string };
    const { window } = request.query as { window: string };
    if ((await store.getKeyById(id)) === null) throw new AdminProblem('not_found', `No key with id ${id}.`);
    const { from, to, step } = windowBounds(window, Date.now());
    const series = await store.usageSeries(id, from, to);
    const addresses = await store.usageAddresses(id, from, to, ADDRESSES_COUNTED);
    const websockets = webSocketFigures(await store.webSocketSeries(id, from, to), from, to, step);
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
      websockets,
    };
  });

  registerOperation(app, routes, 'getApiUsage', async (request, reply) => {
    const { window } = request.query as { window: string };
    const { from, to, step } = windowBounds(window, Date.now());
    reply.header('cache-control', 'no-store');
    const apis = apiFigures(await store.apiUsageSteps(from, to, step), from, to, step);
    return { window, step: step / 1000, from: new Date(from).toISOString(), to: new Date(to).toISOString(), apis };
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
