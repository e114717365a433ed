import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { problemsOf } from '../../test/support/config-problems.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { pino } from 'pino';
import { apisOf } from './apis-config.ts';
import { loadApis } from './apis.ts';
import { loadConfig } from './config.ts';

describe('apis', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  let files = 0;
  const loadYaml = (yaml: string, env: Record<string, string> = {}) => {
    const file = join(directory.path, `apis-${files++}.yaml`);
    writeFileSync(file, yaml);
    return loadConfig({ configFile: file, env, cwd: directory.path });
  };

  const TWO_APIS = `
upstream:
  headersTimeout: 12s
  connections: 16
apis:
  - name: orders
    hosts: [Orders.Example.com, '*.orders.example.com']
    upstream:
      url: http://10.0.0.5:3000
      headersTimeout: 3s
  - name: billing
    pathPrefix: /billing
    stripPrefix: true
    upstream:
      urls: [https://10.0.0.6:8443, https://10.0.0.7:8443]
      tls:
        servername: billing.internal
    routes:
      - { method: GET, path: '/invoices/{id}', scopes: [billing:read] }
`;

  it('reads each API: its match, its upstream over the top-level defaults, its routes', () => {
    const config = loadYaml(TWO_APIS);
    const [orders, billing] = config.apis;
    assert.equal(config.apis.length, 2);
    assert.deepEqual(orders?.hosts, ['orders.example.com', '*.orders.example.com'], 'host patterns in lower case');
    assert.equal(orders?.pathPrefix, '');
    assert.equal(orders?.stripPrefix, false);
    assert.deepEqual(orders?.upstream.origins.map(String), ['http://10.0.0.5:3000/']);
    assert.equal(orders?.upstream.headersTimeout, 3000, 'its own timeout');
    assert.equal(orders?.upstream.connections, 16, 'the top-level value where it sets none');
    assert.equal(billing?.upstream.headersTimeout, 12_000);
    assert.equal(billing?.pathPrefix, '/billing');
    assert.equal(billing?.stripPrefix, true);
    assert.deepEqual(billing?.upstream.origins.map((url) => url.origin), ['https://10.0.0.6:8443', 'https://10.0.0.7:8443']);
    assert.equal(billing?.upstream.tls.servername, 'billing.internal');
    assert.equal(orders?.upstream.tls.servername, null, 'TLS settings are never shared between APIs');
    assert.deepEqual(billing?.routes.routes.map((rule) => `${rule.method} ${rule.path} ${rule.scopes.join(',')}`), ['GET /invoices/{id} billing:read']);
    assert.deepEqual(orders?.routes.routes, []);
    assert.equal(orders?.routes.openapi.file, null);
    assert.deepEqual(apisOf(config).map((api) => api.name), ['orders', 'billing']);
  });

  it('reads an API\'s reportOnly, and its routes are loaded with those policies on every operation (their own kept)', () => {
    const config = loadYaml(`
apis:
  - name: billing
    pathPrefix: /billing
    upstream: { url: http://10.0.0.6:8080 }
    reportOnly: [input-validation]
    routes:
      - { method: GET, path: /invoices, reportOnly: [scopes] }
      - { method: POST, path: /invoices }
  - name: orders
    upstream: { url: http://10.0.0.5:8080 }
    routes:
      - { method: GET, path: /orders }
`);
    const [billing, orders] = loadApis(config, pino({ level: 'silent' }));
    assert.deepEqual(billing?.routes?.operations.map((operation) => [operation.template, operation.method, [...(operation.reportOnly ?? [])].sort()]), [['/invoices', 'GET', ['input-validation', 'scopes']], ['/invoices', 'POST', ['input-validation']]]);
    assert.equal(orders?.routes?.operations[0]?.reportOnly, undefined, 'another API enforces');
    assert.match(problemsOf(() => loadYaml('apis:\n  - { name: a, upstream: { url: http://10.0.0.1 }, reportOnly: [network-access] }\n')).join('\n'), /apis\.0\.reportOnly\.0/);
  });

  it('without apis: one implicit API named default, matching everything, made of the top-level options', () => {
    const config = loadConfig({ env: { PORTCULLIS_UPSTREAM_URL: 'http://10.0.0.5:3000' }, cwd: directory.path });
    assert.deepEqual(config.apis, []);
    const [only, ...rest] = apisOf(config);
    assert.equal(rest.length, 0);
    assert.equal(only?.name, 'default');
    assert.deepEqual(only?.hosts, []);
    assert.equal(only?.pathPrefix, '');
    assert.equal(only?.upstream, config.upstream);
    assert.equal(only?.routes.openapi, config.openapi);
  });

  const refusals: Array<{ name: string; yaml: string; problem: RegExp }> = [
    { name: 'two APIs with one name', yaml: 'apis:\n  - { name: a, pathPrefix: /a, upstream: { url: "http://x" } }\n  - { name: a, pathPrefix: /b, upstream: { url: "http://y" } }\n', problem: /^apis\.1\.name: expected a name no other API has, found "a" \(also apis\.0\.name\)$/ },
    { name: 'two APIs with an identical match (host and prefix)', yaml: 'apis:\n  - { name: a, hosts: [a.example.com], upstream: { url: "http://x" } }\n  - { name: b, hosts: [A.example.com], upstream: { url: "http://y" } }\n', problem: /^apis\.1\.hosts: expected a match no other API has, found host "a\.example\.com" with path prefix "\(none\)", as apis\.0/ },
    { name: 'two APIs that both match everything', yaml: 'apis:\n  - { name: a, upstream: { url: "http://x" } }\n  - { name: b, upstream: { url: "http://y" } }\n', problem: /^apis\.1\.pathPrefix: expected a match no other API has, found any host/ },
    { name: 'an invalid host pattern', yaml: 'apis:\n  - { name: a, hosts: ["api.*.example.com"], upstream: { url: "http://x" } }\n', problem: /^apis\.0\.hosts\.0\b.*host name/ },
    { name: 'a host pattern with a port', yaml: 'apis:\n  - { name: a, hosts: ["api.example.com:443"], upstream: { url: "http://x" } }\n', problem: /^apis\.0\.hosts\.0\b/ },
    { name: 'an API name in upper case', yaml: 'apis:\n  - { name: Orders, upstream: { url: "http://x" } }\n', problem: /^apis\.0\.name\b/ },
    { name: 'a path prefix with a trailing slash', yaml: 'apis:\n  - { name: a, pathPrefix: /a/, upstream: { url: "http://x" } }\n', problem: /^apis\.0\.pathPrefix\b/ },
    { name: 'stripPrefix without a prefix', yaml: 'apis:\n  - { name: a, stripPrefix: true, upstream: { url: "http://x" } }\n', problem: /^apis\.0\.stripPrefix: expected a pathPrefix to strip, found none$/ },
    { name: 'an API without an upstream URL', yaml: 'apis:\n  - { name: a, upstream: { connections: 4 } }\n', problem: /^apis\.0\.upstream\.url: expected the API's upstream \(url or urls\), found nothing$/ },
    { name: 'an API with an unknown option', yaml: 'apis:\n  - { name: a, upstream: { url: "http://x" }, prefix: /a }\n', problem: /^apis\.0\b.*prefix/ },
    { name: 'TLS settings for a plain http upstream', yaml: 'apis:\n  - { name: a, upstream: { url: "http://x", tls: { servername: x.internal } } }\n', problem: /^apis\.0\.upstream\.tls: TLS settings for the upstream need an https:\/\/ apis\.0\.upstream\.url/ },
    { name: 'a top-level upstream.url beside apis', yaml: 'upstream:\n  url: http://z\napis:\n  - { name: a, upstream: { url: "http://x" } }\n', problem: /^upstream\.url: expected unset when apis is set/ },
    { name: 'top-level routes beside apis', yaml: 'routes:\n  - { method: GET, path: /x }\napis:\n  - { name: a, upstream: { url: "http://x" } }\n', problem: /^routes: expected unset when apis is set/ },
  ];
  for (const { name, yaml, problem } of refusals) {
    it(`refuses ${name}, naming the field`, () => {
      const problems = problemsOf(() => loadYaml(yaml));
      assert.ok(problems.some((line) => problem.test(line)), `expected a problem like ${problem}, got:\n${problems.join('\n')}`);
    });
  }

  it('accepts one host in two APIs with different prefixes, and two prefixes without hosts', () => {
    const config = loadYaml('apis:\n  - { name: a, hosts: [h.example], upstream: { url: "http://x" } }\n  - { name: b, hosts: [h.example], pathPrefix: /b, upstream: { url: "http://y" } }\n  - { name: c, pathPrefix: /c, upstream: { url: "http://z" } }\n');
    assert.deepEqual(config.apis.map((api) => api.name), ['a', 'b', 'c']);
  });
});
