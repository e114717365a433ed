import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { rawRequest as rawTarget } from '../support/raw-http.ts';
import { problemCode, rawRequest } from '../support/raw-client.ts';
import { startRecordingUpstream, type RecordedRequest, type RecordingUpstream } from '../support/recording-upstream.ts';

/*
 * What the gateway checked is what the upstream runs: requests that servers read in more than
 * one way, sent through a real gateway, and what reached the upstream read the way a CGI, WSGI,
 * PHP or Rack application reads it (`HTTP_` variables, `-` and `.` folded onto `_`).
 */

const CONFIG = `
routes:
  - { method: GET, path: '/orders/{id}', scopes: ['orders:read'] }
  - { method: POST, path: '/orders/{id}', scopes: ['orders:read'] }
  - { method: DELETE, path: '/orders/{id}', scopes: ['orders:delete'] }
`;

/** The request's headers as a CGI-style application sees them: variable name → every value. */
function cgiView(request: RecordedRequest): Map<string, string[]> {
  const variables = new Map<string, string[]>();
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const variable = `HTTP_${(request.rawHeaders[index] as string).toUpperCase().replace(/[-.]/g, '_')}`;
    variables.set(variable, [...(variables.get(variable) ?? []), request.rawHeaders[index + 1] as string]);
  }
  return variables;
}

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

async function startWith(directory: string, storePath: string, upstream: string, env: Record<string, string>): Promise<RunningGateway> {
  const configFile = join(directory, 'portcullis.yaml');
  writeFileSync(configFile, CONFIG);
  const config = loadConfig({
    configFile,
    env: { PORTCULLIS_ADMIN_LISTEN: '', ...env },
    flags: [
      { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
      { field: 'upstream.url', value: upstream, flag: '--upstream' },
      { field: 'store', value: storePath, flag: '--store' },
    ],
    cwd: directory,
  });
  return startGateway(config, createLogger('silent'));
}

describe('reading requests the way the upstream does', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let strict: RunningGateway;
  let lenient: RunningGateway;
  let reader: { id: string; key: string };
  let deleter: { id: string; key: string };
  const url = (gateway: RunningGateway, path: string) => `http://127.0.0.1:${gateway.address.port}${path}`;
  /** Sends a request and returns the response with what reached the upstream for it (null: nothing). */
  async function send(gateway: RunningGateway, path: string, headers: Array<[string, string]>, method = 'GET') {
    const before = upstream.requests.length;
    const response = await rawRequest(url(gateway, path), { method, headers });
    return { response, reached: upstream.requests.length > before ? (upstream.requests.at(-1) as RecordedRequest) : null };
  }

  before(async () => {
    upstream = await startRecordingUpstream();
    reader = await createKeyInStore(storePath, { scopes: ['orders:read'] });
    deleter = await createKeyInStore(storePath, { scopes: ['orders:read', 'orders:delete'] });
    strict = await startWith(directory.path, storePath, upstream.url, {});
    lenient = await startWith(directory.path, storePath, upstream.url, { PORTCULLIS_HEADERS_UNDERSCORES: 'refuse', PORTCULLIS_HEADERS_ALLOW_UNDERSCORES: 'X_Tenant', PORTCULLIS_HEADERS_METHOD_OVERRIDE: 'honour' });
  });
  after(async () => {
    await strict?.stop();
    await lenient?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('drops every header name with "_" or ".": no alias of a key, identity or forwarding header reaches the upstream', async () => {
    const { response, reached } = await send(strict, '/orders/1', [
      ['X-API-Key', reader.key],
      ['X_API_Key', deleter.key],
      ['X_Portcullis_Key_Id', deleter.id],
      ['x.portcullis.key.name', 'admin'],
      ['X_Forwarded_For', '10.0.0.1'],
      ['X_Request_Id', 'chosen-by-client'],
      ['X_HTTP_Method_Override', 'DELETE'],
    ]);
    assert.equal(response.status, 200);
    const cgi = cgiView(reached as RecordedRequest);
    assert.equal(cgi.get('HTTP_X_API_KEY'), undefined);
    assert.deepEqual(cgi.get('HTTP_X_PORTCULLIS_KEY_ID'), [reader.id]);
    assert.deepEqual(cgi.get('HTTP_X_PORTCULLIS_KEY_NAME'), ['test']);
    assert.deepEqual(cgi.get('HTTP_X_FORWARDED_FOR'), ['127.0.0.1']);
    assert.notDeepEqual(cgi.get('HTTP_X_REQUEST_ID'), ['chosen-by-client']);
    assert.equal(cgi.get('HTTP_X_HTTP_METHOD_OVERRIDE'), undefined);
  });

  it('with headers.underscores: refuse, refuses them; an allowed name is forwarded, unless sent in two spellings', async () => {
    const refused = await send(lenient, '/orders/1', [['X-API-Key', reader.key], ['X_Trace', '1']]);
    assert.equal(refused.response.status, 400);
    assert.equal(problemCode(refused.response), 'header_ambiguous');
    assert.equal(refused.reached, null);
    const allowed = await send(lenient, '/orders/1', [['X-API-Key', reader.key], ['X_Tenant', 'acme']]);
    assert.equal(allowed.response.status, 200);
    assert.deepEqual(cgiView(allowed.reached as RecordedRequest).get('HTTP_X_TENANT'), ['acme']);
    const twice = await send(lenient, '/orders/1', [['X-API-Key', reader.key], ['X_Tenant', 'acme'], ['X-Tenant', 'other']]);
    assert.equal(problemCode(twice.response), 'header_ambiguous');
    assert.equal(twice.reached, null);
  });

  it('strips method overrides by default: the upstream runs the method whose scopes were checked', async () => {
    const { response, reached } = await send(strict, '/orders/1', [['X-API-Key', reader.key], ['X-HTTP-Method-Override', 'DELETE'], ['X-HTTP-Method', 'DELETE'], ['X-Method-Override', 'DELETE']], 'POST');
    assert.equal(response.status, 200);
    assert.equal(reached?.method, 'POST');
    assert.deepEqual([...cgiView(reached as RecordedRequest).keys()].filter((name) => name.includes('METHOD')), []);
  });

  it('with headers.methodOverride: honour, judges the request as the override, and forwards it', async () => {
    const withoutScope = await send(lenient, '/orders/1', [['X-API-Key', reader.key], ['X-HTTP-Method-Override', 'DELETE']], 'POST');
    assert.equal(withoutScope.response.status, 403);
    assert.equal(problemCode(withoutScope.response), 'scope_missing');
    assert.equal(withoutScope.reached, null);
    const withScope = await send(lenient, '/orders/1', [['X-API-Key', deleter.key], ['X-HTTP-Method-Override', 'DELETE']], 'POST');
    assert.equal(withScope.response.status, 200);
    assert.equal(withScope.reached?.method, 'POST');
    assert.deepEqual(cgiView(withScope.reached as RecordedRequest).get('HTTP_X_HTTP_METHOD_OVERRIDE'), ['DELETE']);
    const onGet = await send(lenient, '/orders/1', [['X-API-Key', deleter.key], ['X-HTTP-Method-Override', 'DELETE']]);
    assert.equal(problemCode(onGet.response), 'request_invalid');
  });

  const credentials: Array<{ name: string; headers: () => Array<[string, string]>; status: number; code?: string; authorization?: string }> = [
    { name: 'a tab after Bearer', headers: () => [['Authorization', `Bearer\t${reader.key}`]], status: 200 },
    { name: 'Bearer: and the key', headers: () => [['Authorization', `bearer: ${reader.key}`]], status: 200 },
    { name: 'another scheme name', headers: () => [['Authorization', `Token ${reader.key}`]], status: 200 },
    { name: 'the key as a Basic user name', headers: () => [['Authorization', basic(`${reader.key}:`)]], status: 200 },
    { name: 'a second key in Basic credentials', headers: () => [['X-API-Key', reader.key], ['Authorization', basic(`user:${deleter.key}`)]], status: 400, code: 'key_ambiguous' },
    { name: 'a second key in another scheme', headers: () => [['X-API-Key', reader.key], ['Authorization', `Token ${deleter.key}`]], status: 400, code: 'key_ambiguous' },
    { name: 'a Basic login without a key, for the upstream', headers: () => [['X-API-Key', reader.key], ['Authorization', basic('alice:wonderland')]], status: 200, authorization: basic('alice:wonderland') },
  ];
  for (const { name, headers, status, code, authorization } of credentials) {
    it(`reads a key as lenient servers do: ${name}`, async () => {
      const { response, reached } = await send(strict, '/orders/1', headers());
      assert.equal(response.status, status);
      if (code !== undefined) return assert.equal(problemCode(response), code);
      assert.deepEqual(cgiView(reached as RecordedRequest).get('HTTP_AUTHORIZATION'), authorization === undefined ? undefined : [authorization]);
      for (const value of (reached as RecordedRequest).rawHeaders) assert.ok(!value.includes(reader.key) && !value.includes(deleter.key), 'no key reaches the upstream');
    });
  }

  it('refuses a Connection header naming a header the gateway reads or sets, and drops what else it names', async () => {
    for (const named of ['Content-Type', 'content-length', 'X-API-Key', 'X-Forwarded-For', 'X-Portcullis-Key-Id', 'Host']) {
      const { response, reached } = await send(strict, '/orders/1', [['X-API-Key', reader.key], ['Connection', named]]);
      assert.equal(problemCode(response), 'request_invalid', named);
      assert.equal(reached, null);
    }
    const { response, reached } = await send(strict, '/orders/1', [['X-API-Key', reader.key], ['Connection', 'X-Hop'], ['X-Hop', '1']]);
    assert.equal(response.status, 200);
    assert.equal(cgiView(reached as RecordedRequest).get('HTTP_X_HOP'), undefined);
  });

  it('refuses an invalid or repeated Host, and forwards a valid one as X-Forwarded-Host', async () => {
    for (const host of ['a.example,b.example', 'user@a.example', 'a.example:99999', '']) {
      const { response, reached } = await send(strict, '/orders/1', [['Host', host], ['X-API-Key', reader.key]]);
      assert.equal(problemCode(response), 'request_invalid', host);
      assert.equal(reached, null);
    }
    // The raw client sends its own Host line first: this is a second one.
    assert.equal((await rawTarget(strict.address.port, 'GET', '/orders/1', { 'X-API-Key': reader.key, Host: 'evil.example' })).status, 400);
    const valid = await send(strict, '/orders/1', [['Host', 'api.example:8443'], ['X-API-Key', reader.key]]);
    assert.deepEqual(cgiView(valid.reached as RecordedRequest).get('HTTP_X_FORWARDED_HOST'), ['api.example:8443']);
  });

  it('refuses a raw ";" in the query, which some servers split on', async () => {
    const before = upstream.requests.length;
    const response = await rawTarget(strict.address.port, 'GET', '/orders/1?role=user;role=admin', { 'X-API-Key': reader.key });
    assert.equal(response.status, 400);
    assert.equal((JSON.parse(response.body) as { code: string }).code, 'request_invalid');
    assert.equal((await rawTarget(strict.address.port, 'GET', '/orders/1?q=a%3Bb', { 'X-API-Key': reader.key })).status, 200);
    assert.equal(upstream.requests.length, before + 1);
  });
});
