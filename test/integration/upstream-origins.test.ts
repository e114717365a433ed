/**
 * Several origins for one upstream (`upstream.urls`): requests spread round-robin; an origin
 * killed under a steady keep-alive load of idempotent GETs costs no request (each one that
 * met it is sent again to the other origin), is ejected, and comes back into the rotation
 * when it answers again; a request whose body was streamed is never sent twice.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { freePort } from '../support/free-port.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startSteadyLoad } from '../support/steady-load.ts';

/** A small origin server that counts what reached it, and can be killed and brought back on the same port. */
class Origin {
  readonly name: string;
  /** Requests received, by method. */
  readonly received = new Map<string, number>();
  #server: Server | null = null;
  #port = 0;

  constructor(name: string) {
    this.name = name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get total(): number {
    let total = 0;
    for (const count of this.received.values()) total += count;
    return total;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.received.set(req.method as string, (this.received.get(req.method as string) ?? 0) + 1);
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ origin: this.name });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and closes every connection at once, as a crashed process would. */
  async kill(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port. */
  async revive(): Promise<void> {
    await this.start(this.#port);
  }
}

interface Started {
  gateway: RunningGateway;
  origin: string;
  logs: Array<Record<string, unknown>>;
}

async function startWithOrigins(storePath: string, urls: string[], env: Record<string, string> = {}): Promise<Started> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({
    env: { PORTCULLIS_ADMIN_LISTEN: '', PORTCULLIS_LIMITS_ADDRESS_RATE: '', PORTCULLIS_LOCKOUT_MAX_FAILURES: '0', PORTCULLIS_UPSTREAM_URLS: urls.join(','), ...env },
    flags: [
      { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
      { field: 'store', value: storePath, flag: '--store' },
    ],
  });
  const gateway = await startGateway(config, createLogger('info', sink));
  return { gateway, origin: `http://127.0.0.1:${gateway.address.port}`, logs };
}

/** A counter's value in the Prometheus text, for one label set (`{origin="http://…"}`), or 0. */
async function counter(gateway: RunningGateway, name: string, labels: string): Promise<number> {
  const line = (await gateway.metrics.render()).body.split('\n').find((text) => text.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('several origins: round-robin, an origin killed under load, ejected and restored', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const a = new Origin('a');
  const b = new Origin('b');
  let started: Started;
  let key: string;

  before(async () => {
    await Promise.all([a.start(), b.start()]);
    ({ key } = await createKeyInStore(storePath));
    started = await startWithOrigins(storePath, [a.url, b.url], { PORTCULLIS_UPSTREAM_PASSIVE_HEALTH_EJECT_FOR: '1s' });
  });
  after(async () => {
    await started?.gateway.stop();
    await Promise.all([a.kill(), b.kill()]);
    directory.remove();
  });

  it('sends requests to each origin in turn', async () => {
    for (let index = 0; index < 20; index++) assert.equal((await callWithKey(`${started.origin}/items/${index}`, key)).status, 200);
    assert.deepEqual([a.total, b.total], [10, 10]);
    assert.deepEqual(started.gateway.health().upstream?.origins, { total: 2, ejected: 0 });
  });

  it('fails no idempotent request when an origin is killed mid-run; ejects it, then restores it when it answers again', async (t) => {
    const load = startSteadyLoad({ origin: started.origin, label: 'GET', rate: 80, retries: 0, target: () => ({ path: '/items/load', headers: { authorization: `Bearer ${key}` } }) });
    await sleep(1500);
    const bBeforeKill = b.total;
    assert.ok(bBeforeKill > 40, `b served its share before it was killed (${bBeforeKill})`);
    await b.kill();
    const killedAt = performance.now();
    await waitFor(async () => started.logs.some((line) => line.msg?.toString().startsWith('upstream origin ejected') === true), 3000, 'b ejected');
    const ejection = started.logs.find((line) => String(line.msg).startsWith('upstream origin ejected'))!;
    assert.deepEqual([ejection.level, ejection.upstream, ejection.failures], [40, b.url, 3]);
    await sleep(1500);
    const whileDown = started.gateway.health();
    assert.deepEqual([whileDown.status, whileDown.parts.upstream, whileDown.upstream?.origins], ['ok', 'ok', { total: 2, ejected: 1 }], 'one origin of two failing is no upstream failure');
    assert.equal(await counter(started.gateway, 'portcullis_upstream_origins_ejected', ''), 1);

    const bServedAfterKill = b.total - bBeforeKill;
    await b.revive();
    const revivedAt = performance.now();
    const restoredIn = await waitFor(async () => started.logs.some((line) => String(line.msg).startsWith('upstream origin restored')), 3000, 'b restored');
    await sleep(500);
    const report = await load.stop();
    const restored = started.logs.find((line) => String(line.msg).startsWith('upstream origin restored'))!;
    t.diagnostic(report.summary());
    t.diagnostic(`b killed ${Math.round(revivedAt - killedAt)} ms; restored ${Math.round(restoredIn)} ms after it listened again (ejected for ${String(restored.ejectedFor)} ms in all); a ${a.total}, b ${b.total} requests`);

    const retries = { connectFailed: await counter(started.gateway, 'portcullis_upstream_retries_total', '{reason="connect_failed"}'), connectionClosed: await counter(started.gateway, 'portcullis_upstream_retries_total', '{reason="connection_closed"}') };
    t.diagnostic(`sent again to a: ${retries.connectFailed} after a refused connect, ${retries.connectionClosed} after a closed kept-alive connection`);
    assert.ok(report.outcomes.length >= 0.8 * 80 * 4, `the load ran (${report.outcomes.length} requests)`);
    assert.deepEqual(report.tally(), { 200: report.outcomes.length }, 'every request answered 200, none sent again by the client');
    assert.equal(bServedAfterKill, 0, 'b served nothing while it was down');
    assert.ok(b.total > bBeforeKill, 'b serves again once restored');
    assert.equal(restored.upstream, b.url);
    assert.equal(await counter(started.gateway, 'portcullis_upstream_ejections_total', `{origin="${b.url}"}`), 1);
    assert.equal(await counter(started.gateway, 'portcullis_upstream_restorations_total', `{origin="${b.url}"}`), 1);
    assert.equal(await counter(started.gateway, 'portcullis_upstream_ejections_total', `{origin="${a.url}"}`), 0);
    assert.ok(retries.connectFailed >= 3, 'the requests that met the dead origin were sent again');
    assert.equal(await counter(started.gateway, 'portcullis_upstream_failures_total', '{kind="refused"}'), 0, 'no request was answered 502');
    assert.deepEqual(started.gateway.health().upstream?.origins, { total: 2, ejected: 0 });
  });
});

describe('several origins: a request whose body was streamed, to a dead origin', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const live = new Origin('live');
  let started: Started;
  let key: string;

  before(async () => {
    await live.start();
    ({ key } = await createKeyInStore(storePath));
    // The dead origin first, so that round-robin sends it the first request.
    started = await startWithOrigins(storePath, [`http://127.0.0.1:${await freePort()}`, live.url], { PORTCULLIS_UPSTREAM_PASSIVE_HEALTH_FAILURES: '100' });
  });
  after(async () => {
    await started?.gateway.stop();
    await live.kill();
    directory.remove();
  });

  async function send(method: 'GET' | 'POST' | 'PUT'): Promise<{ status: number; code: string | null }> {
    const response = await request(`${started.origin}/orders`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: '{"item":"x"}' }) });
    const body = (await response.body.json()) as { code?: string };
    return { status: response.statusCode, code: body.code ?? null };
  }

  it('answers 502 and does not send it to the other origin (POST or PUT); a GET that meets the dead origin is sent to the live one', async () => {
    assert.deepEqual(await send('POST'), { status: 502, code: 'upstream_unavailable' }, 'POST to the dead origin');
    assert.deepEqual(await send('GET'), { status: 200, code: null }, 'GET to the live origin');
    assert.deepEqual(await send('PUT'), { status: 502, code: 'upstream_unavailable' }, 'PUT, body streamed, to the dead origin');
    assert.deepEqual(await send('GET'), { status: 200, code: null }, 'GET to the live origin');
    assert.deepEqual(await send('GET'), { status: 200, code: null }, 'GET to the dead origin, sent again to the live one');
    assert.deepEqual(Object.fromEntries(live.received), { GET: 3 }, 'neither body reached the live origin');
    assert.equal(await counter(started.gateway, 'portcullis_upstream_failures_total', '{kind="refused"}'), 2);
  });
});
