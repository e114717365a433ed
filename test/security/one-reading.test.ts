import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { rawRequest } from '../support/raw-http.ts';

/**
 * End to end, requests the gateway and an API could read two ways are refused: a declared
 * header the `Connection` header names (it would not be forwarded), a media type parameter
 * given twice, JSON keys that differ only in case, numbers a double cannot hold. What passes
 * reaches the API exactly as checked.
 */
const API = `
openapi: 3.1.0
info: { title: One reading, version: 1.0.0 }
paths:
  /transfers:
    post:
      parameters: [{ name: X-Tenant, in: header, required: true, schema: { type: string, pattern: '^[a-z]{3}$' } }]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties: { amount: { type: number, maximum: 100 }, role: { enum: [user] }, account: { type: integer } }
      responses: { '200': { description: ok } }
`;

describe('one request, one reading', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let port: number;
  let key: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    const apiFile = join(directory.path, 'api.yaml');
    writeFileSync(apiFile, API);
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'), { env: { PORTCULLIS_OPENAPI_FILE: apiFile } });
    port = Number(new URL(gateway.url).port);
    key = (await createKeyInStore(join(directory.path, 'keys.db'))).key;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  const cases: Array<{ name: string; headers?: Record<string, string>; body: string; status: number; pointer?: string }> = [
    { name: 'a request read one way', body: '{"amount":100,"role":"user","account":9007199254740991}', status: 200 },
    { name: 'Connection naming a declared header parameter', headers: { connection: 'X-Tenant' }, body: '{"amount":1}', status: 400, pointer: '/headers/X-Tenant' },
    { name: 'a charset given twice', headers: { 'content-type': 'application/json; charset=utf-8; charset=latin1' }, body: '{"amount":1}', status: 400, pointer: '/headers/content-type' },
    { name: 'keys that differ only in case', body: '{"role":"user","Role":"admin"}', status: 400, pointer: '/body/Role' },
    { name: 'a number above the maximum that a double rounds down to it', body: '{"amount":100.00000000000000001}', status: 400, pointer: '/body/amount' },
    { name: 'an integer a double cannot hold', body: '{"account":9007199254740993}', status: 400, pointer: '/body/account' },
  ];
  for (const { name, headers, body, status, pointer } of cases) {
    it(`${status === 200 ? 'forwards' : 'refuses'}: ${name}`, async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(port, 'POST', '/transfers', { 'x-api-key': key, 'x-tenant': 'abc', 'content-type': 'application/json', ...headers }, body);
      assert.equal(response.status, status, response.body);
      if (pointer !== undefined) assert.equal((JSON.parse(response.body) as { errors: Array<{ pointer: string }> }).errors[0]?.pointer, pointer, response.body);
      const forwarded = upstream.requests.slice(before);
      assert.equal(forwarded.length, status === 200 ? 1 : 0);
      if (status === 200) assert.equal(forwarded[0]?.headers['x-tenant'], 'abc', 'the header checked is the header forwarded');
    });
  }
});
