import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { recordingLogger } from '../../test/support/fake-context.ts';
import { denial, type Denial } from '../http/error-catalogue.ts';
import type { Check } from '../policies/request-context.ts';
import { RequestIds } from '../telemetry/request-id.ts';
import { createClientAddressResolver } from './client-address.ts';
import type { Exchange } from './exchange.ts';
import { GatewayServer } from './gateway-server.ts';
import { createPipeline } from './pipeline.ts';
import type { RequestTelemetry } from './request-telemetry.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';
import { WouldDenyReport } from './would-deny-report.ts';

/**
 * The engine's half of report-only mode, over a real listener: a denial its check reports
 * (`Check.reports`) is recorded and the request goes on to the next check and the upstream;
 * every other denial refuses as before. The checks stand for any policy: `x-refuse` names the
 * code the first one denies with (synchronously, or later with `x-later`), and the second
 * refuses with `key_missing` when `x-refuse-after` is set.
 */

const SCOPE_MISSING = denial('scope_missing', 'This operation needs a key with the scope orders:write.');
const IP_REFUSED = denial('ip_not_allowed');
const KEY_MISSING = denial('key_missing');

function first(reports: ((refused: Denial) => boolean) | null): Check {
  const check: Check = {
    name: 'first',
    run(context) {
      const code = context.req.headers['x-refuse'];
      const refused = code === 'scope_missing' ? SCOPE_MISSING : code === 'ip_not_allowed' ? IP_REFUSED : null;
      if (refused === null) return null;
      return context.req.headers['x-later'] === 'yes' ? Promise.resolve(refused) : refused;
    },
  };
  return reports === null ? check : Object.assign(check, { reports });
}

const second: Check = {
  name: 'second',
  run: (context) => (context.req.headers['x-refuse-after'] === 'yes' ? KEY_MISSING : null),
};

const telemetry = { denied() {}, exchangeFinished() {} } as unknown as RequestTelemetry;

interface Gateway {
  url: string;
  registry: Registry;
  lines: ReturnType<typeof recordingLogger>['lines'];
  /** The header lists the upstream was sent, one per forwarded request. */
  forwarded: string[][];
  close(): Promise<void>;
}

async function startGateway(check: Check, header: boolean): Promise<Gateway> {
  const registry = new Registry();
  const { logger, lines } = recordingLogger();
  // The rate-limited log asks whether its level is on.
  Object.assign(logger, { isLevelEnabled: () => true });
  const forwarded: string[][] = [];
  const upstream = {
    forward(exchange: Exchange, headers: string[]) {
      forwarded.push([...headers]);
      exchange.res.end('forwarded');
    },
  } as Pick<UpstreamProxy, 'forward'> as UpstreamProxy;
  const handler = createPipeline({
    checks: [check, second],
    proxy: upstream,
    protocol: 'http',
    resolveClient: createClientAddressResolver({ trustProxy: [], header: 'x-forwarded-for' }),
    forwardedHeader: false,
    telemetry,
    requestIds: new RequestIds('t'),
    logger,
    wouldDeny: check.reports === undefined ? null : new WouldDenyReport({ registry, logger, header, codes: ['scope_missing'], usage: null }),
  });
  const server = new GatewayServer(handler, { listen: { host: '127.0.0.1', port: 0 }, headersTimeout: 5000, requestTimeout: 30_000, keepAliveTimeout: 5000, maxConnections: 100, maxHeaderSize: 16_384 });
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}/orders`, registry, lines, forwarded, close: async () => { await server.drain(100); } };
}

async function wouldDenyCounts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('portcullis_would_deny_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map(({ labels, value }) => [String(labels.code), value]));
}

function headerValues(headers: string[], name: string): string[] {
  const values: string[] = [];
  for (let index = 0; index < headers.length; index += 2) if ((headers[index] as string).toLowerCase() === name) values.push(headers[index + 1] as string);
  return values;
}

describe('report-only in the pipeline', () => {
  describe('a check that reports scope_missing, with the header on', () => {
    let gateway: Gateway;
    before(async () => {
      gateway = await startGateway(first((refused) => refused.code === 'scope_missing'), true);
    });
    after(() => gateway.close());

    it('forwards a request its check would deny, records the would-deny and tells only the upstream', async () => {
      const response = await fetch(gateway.url, { headers: { 'x-refuse': 'scope_missing', 'x-request-id': 'req-1' } });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'forwarded');
      assert.equal(response.headers.get('x-portcullis-would-deny'), null);
      assert.equal(gateway.forwarded.length, 1);
      assert.deepEqual(headerValues(gateway.forwarded[0] as string[], 'x-portcullis-would-deny'), ['scope_missing']);
      assert.deepEqual(await wouldDenyCounts(gateway.registry), { scope_missing: 1 });
      const logged = gateway.lines.filter((line) => line.message === 'would deny (report-only)');
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.level, 'warn');
      assert.deepEqual({ ...(logged[0]?.object as object), err: undefined, intervalMs: undefined }, {
        policy: 'first', code: 'scope_missing', route: '/orders', keyId: null, reqId: 'req-1', detail: SCOPE_MISSING.detail,
        err: undefined, kind: 'WouldDeny:scope_missing', count: 1, intervalMs: undefined,
      });
    });

    it('does the same when the check answers later', async () => {
      const before = gateway.forwarded.length;
      const response = await fetch(gateway.url, { headers: { 'x-refuse': 'scope_missing', 'x-later': 'yes' } });
      assert.equal(response.status, 200);
      assert.equal(gateway.forwarded.length, before + 1);
      assert.deepEqual(await wouldDenyCounts(gateway.registry), { scope_missing: 2 });
    });

    it('runs the next checks after a would-deny: a later refusal still refuses', async () => {
      const response = await fetch(gateway.url, { headers: { 'x-refuse': 'scope_missing', 'x-refuse-after': 'yes' } });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { code: string }).code, 'key_missing');
    });

    it('refuses, as when enforcing, a denial the check does not report (sync and later)', async () => {
      const counts = await wouldDenyCounts(gateway.registry);
      for (const later of ['no', 'yes']) {
        const response = await fetch(gateway.url, { headers: { 'x-refuse': 'ip_not_allowed', 'x-later': later } });
        assert.equal(response.status, 403);
        assert.equal(((await response.json()) as { code: string }).code, 'ip_not_allowed');
      }
      assert.deepEqual(await wouldDenyCounts(gateway.registry), counts);
    });
  });

  it('without reportOnly.header, sends the upstream no would-deny header', async () => {
    const gateway = await startGateway(first((refused) => refused.code === 'scope_missing'), false);
    try {
      assert.equal((await fetch(gateway.url, { headers: { 'x-refuse': 'scope_missing' } })).status, 200);
      assert.deepEqual(headerValues(gateway.forwarded[0] as string[], 'x-portcullis-would-deny'), []);
      assert.deepEqual(await wouldDenyCounts(gateway.registry), { scope_missing: 1 });
    } finally {
      await gateway.close();
    }
  });

  it('leaves an enforcing check as it was: its denial refuses, and nothing is recorded', async () => {
    const gateway = await startGateway(first(null), true);
    try {
      const response = await fetch(gateway.url, { headers: { 'x-refuse': 'scope_missing' } });
      assert.equal(response.status, 403);
      assert.equal(gateway.forwarded.length, 0);
      assert.equal(gateway.registry.getSingleMetric('portcullis_would_deny_total'), undefined);
    } finally {
      await gateway.close();
    }
  });
});
