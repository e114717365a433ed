import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { rawRequest } from '../support/raw-http.ts';

/**
 * What the gateway checks is what the upstream runs, whichever way the upstream treats letter
 * case. Routes are matched on exactly the path that is forwarded, and a path that would match a
 * literal segment only without regard to case is refused: Fastify would run `/items/{id}` for
 * `/items/EXPORT`, Express (by default) `/items/export`, which needs the scope `admin`.
 */
const API = `
openapi: 3.1.0
info: { title: Cases, version: 1.0.0 }
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/token', scopes: { admin: operate } } }
paths:
  /items/export:
    post:
      security: [{ oauth: [admin] }]
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, required: [confirm], properties: { confirm: { const: true } } } } }
      responses: { '200': { description: ok } }
  /items/{id}:
    post:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      requestBody:
        content: { application/json: { schema: { type: object, properties: { page: { type: integer } }, additionalProperties: false } } }
      responses: { '200': { description: ok } }
`;

interface Case {
  name: string;
  path: string;
  body: string;
  admin: boolean;
  status: number;
  /** The path the upstream receives; null when nothing reaches it. */
  forwarded: string | null;
  pointer?: string;
}

for (const policy of ['refuse', 'normalise'] as const) {
  describe(`routes are matched on the path forwarded, and letter case is never guessed (paths.nonCanonical: ${policy})`, () => {
    const directory = temporaryDirectory();
    let upstream: RecordingUpstream;
    let gateway: TestGateway;
    let port: number;
    let plainKey: string;
    let adminKey: string;

    before(async () => {
      upstream = await startRecordingUpstream();
      const apiFile = join(directory.path, 'api.yaml');
      writeFileSync(apiFile, API);
      const store = join(directory.path, 'keys.db');
      gateway = await startTestGateway(upstream.url, store, { env: { PORTCULLIS_OPENAPI_FILE: apiFile, PORTCULLIS_PATHS_NON_CANONICAL: policy } });
      port = Number(new URL(gateway.url).port);
      plainKey = (await createKeyInStore(store)).key;
      adminKey = (await createKeyInStore(store, { scopes: ['admin'] })).key;
    });
    after(async () => {
      await gateway.stop();
      await upstream.close();
      directory.remove();
    });

    const cases: Case[] = [
      { name: '/items/export needs its scope', path: '/items/export', body: '{"confirm":true}', admin: false, status: 403, forwarded: null },
      { name: '/items/export is validated as itself', path: '/items/export', body: '{"page":1}', admin: true, status: 400, forwarded: null, pointer: '/body/confirm' },
      { name: '/items/export with its scope, forwarded as sent', path: '/items/export', body: '{"confirm":true}', admin: true, status: 200, forwarded: '/items/export' },
      { name: '/items/7 is the scope-free operation', path: '/items/7', body: '{"page":1}', admin: false, status: 200, forwarded: '/items/7' },
      { name: '/items/EXPORT differs from a literal only in case: refused, whatever the key', path: '/items/EXPORT', body: '{"page":1}', admin: false, status: 400, forwarded: null },
      { name: '/items/Export likewise', path: '/items/Export', body: '{"confirm":true}', admin: true, status: 400, forwarded: null },
      { name: '/ITEMS/7 likewise, in the first segment', path: '/ITEMS/7', body: '{"page":1}', admin: false, status: 400, forwarded: null },
    ];
    for (const { name, path, body, admin, status, forwarded, pointer } of cases) {
      it(`${name}: ${status}`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(port, 'POST', path, { 'x-api-key': admin ? adminKey : plainKey, 'content-type': 'application/json' }, body);
        assert.equal(response.status, status, response.body);
        assert.deepEqual(upstream.requests.slice(before).map((received) => received.url), forwarded === null ? [] : [forwarded]);
        if (pointer !== undefined) assert.equal((JSON.parse(response.body) as { errors: Array<{ pointer: string }> }).errors[0]?.pointer, pointer);
      });
    }
  });
}

describe('paths that differ only in case', () => {
  it('stop the start: an upstream that routes without regard to case could not tell them apart', async () => {
    const directory = temporaryDirectory();
    try {
      const apiFile = join(directory.path, 'api.yaml');
      writeFileSync(apiFile, `
openapi: 3.1.0
info: { title: Clash, version: 1.0.0 }
paths:
  /items/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
  /Items/{itemId}:
    delete:
      parameters: [{ name: itemId, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
`);
      await assert.rejects(startTestGateway('http://127.0.0.1:9', join(directory.path, 'keys.db'), { env: { PORTCULLIS_OPENAPI_FILE: apiFile } }), /differs only in case/);
      // Not only whole templates: a literal segment beside one that differs only in case.
      writeFileSync(apiFile, `
openapi: 3.1.0
info: { title: Clash, version: 1.0.0 }
paths:
  /admin/{x}:
    post:
      parameters: [{ name: x, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
  /Admin/list:
    post:
      responses: { '200': { description: ok } }
`);
      await assert.rejects(startTestGateway('http://127.0.0.1:9', join(directory.path, 'keys2.db'), { env: { PORTCULLIS_OPENAPI_FILE: apiFile } }), /"Admin" differs only in case from "admin"|"admin" differs only in case from "Admin"/);
    } finally {
      directory.remove();
    }
  });
});
