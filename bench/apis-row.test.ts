/**
 * The `apis-100` row: its generated config loads through the gateway's own config loader, each
 * of its request targets is matched (by the gateway's API matcher) to a different API, and wrk,
 * with the row's script, sends requests spread over all 100 targets with the rotating keys.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/app/config.ts';
import { ApiMatcher, NO_API } from '../src/routes/api-matcher.ts';
import { itNeeding } from '../test/support/required-service.ts';
import { apisConfigText, apisGet, EXACT_HOST_APIS, generatedApis, PATH_PREFIX_APIS, WILDCARD_HOST_APIS } from './apis-row.ts';
import { ChildProcesses } from './child-processes.ts';
import { findWrk, runWrk, writeWrkScript, wrkScript } from './wrk.ts';

const UPSTREAM = 'http://127.0.0.1:4000';

describe('generatedApis', () => {
  it('makes 100 APIs: 50 exact hosts, 25 wildcard hosts, 25 path prefixes, names unique, all to the upstream', () => {
    const apis = generatedApis(UPSTREAM);
    assert.equal(apis.length, 100);
    assert.equal(new Set(apis.map((api) => api.config.name)).size, 100);
    const exact = apis.filter((api) => api.config.hosts?.length === 1 && !api.config.hosts[0]!.startsWith('*.'));
    const wildcard = apis.filter((api) => api.config.hosts?.[0]?.startsWith('*.') === true);
    const prefix = apis.filter((api) => api.config.hosts === undefined && api.config.pathPrefix !== undefined);
    assert.deepEqual([exact.length, wildcard.length, prefix.length], [EXACT_HOST_APIS, WILDCARD_HOST_APIS, PATH_PREFIX_APIS]);
    assert.ok(apis.every((api) => api.config.upstream.url === UPSTREAM));
  });

  it('is what the gateway loads, and sends each target to its own API', () => {
    const directory = mkdtempSync(join(tmpdir(), 'portcullis-apis-row-'));
    try {
      const file = join(directory, 'apis-100.yaml');
      writeFileSync(file, apisConfigText(UPSTREAM));
      const config = loadConfig({ configFile: file, env: {}, cwd: directory });
      assert.equal(config.apis.length, 100);
      const matcher = new ApiMatcher(config.apis);
      const generated = generatedApis(UPSTREAM);
      generated.forEach(({ config: api, target }, index) => {
        // wrk's own Host field (the gateway's address) where the target names none.
        const matched = matcher.match(target.host ?? '127.0.0.1:8080', target.path);
        assert.notEqual(matched, NO_API, `${api.name}: no API matched ${target.host ?? '(wrk host)'} ${target.path}`);
        assert.equal(config.apis[matched]!.name, api.name);
        assert.equal(matched, index);
      });
      // A request outside every API is refused (404 api_not_found), so the row's checks mean something.
      assert.equal(matcher.match('127.0.0.1:8080', '/'), NO_API);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('the wrk script of a shape with rotateTargets', () => {
  it('lists every target with its Host field and path', () => {
    const script = wrkScript(apisGet, ['pcl_one', 'pcl_two']);
    assert.match(script, /\{ host = "api-00\.bench\.example", path = "\/" \},/);
    assert.match(script, /\{ host = "shop\.tenant-24\.bench\.example", path = "\/" \},/);
    assert.match(script, /\{ host = nil, path = "\/svc-24\/items" \},/);
    assert.match(script, /if target\.host then headers\["Host"\] = target\.host end/);
  });

  it('refuses no targets, a path without its leading / and a Host field that is not printable', () => {
    assert.throws(() => wrkScript({ ...apisGet, rotateTargets: [] }, ['pcl_a']), /at least one target/);
    assert.throws(() => wrkScript({ ...apisGet, rotateTargets: [{ path: 'x' }] }, ['pcl_a']), /must start with \//);
    assert.throws(() => wrkScript({ ...apisGet, rotateTargets: [{ host: 'a\nb', path: '/' }] }, ['pcl_a']), /non-printable/);
  });
});

const wrkPath = findWrk();
const wrkCheck = { service: 'wrk', unavailable: wrkPath === null ? 'wrk not found on PATH; install with: apt-get install wrk' : null };

describe('the apis-100 requests driven by wrk', () => {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-apis-wrk-'));
  const children = new ChildProcesses();
  /** `host path authorization` of every request received. */
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.headers.host} ${req.url} ${req.headers.authorization}`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  let url: string;
  let port: number;

  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await children.stopAll();
    server.closeAllConnections();
    server.close();
    rmSync(directory, { recursive: true, force: true });
  });

  itNeeding(wrkCheck, 'spreads the requests over the 100 targets, request i with key i and target i', async () => {
    const tokens = Array.from({ length: 100 }, (_, index) => `pcl_token${index}`);
    const script = join(directory, 'apis-100.lua');
    await writeWrkScript(script, apisGet, tokens);
    const { figures } = await runWrk(children, wrkPath!, url, script, { threads: 1, connections: 2, durationSeconds: 1 });
    assert.equal(figures.non2xx3xx, 0);
    assert.ok(received.length >= 300, `only ${received.length} requests arrived`);
    const expected = new Set(generatedApis(UPSTREAM).map(({ target }, index) => `${target.host ?? `127.0.0.1:${port}`} ${target.path} Bearer pcl_token${index}`));
    const seen = new Set(received);
    assert.ok([...seen].every((request) => expected.has(request)), `unexpected request: ${[...seen].find((request) => !expected.has(request))}`);
    assert.equal(seen.size, 100, 'every target was sent to');
  });
});
