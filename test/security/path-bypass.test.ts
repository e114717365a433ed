import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { rawRequest } from '../support/raw-http.ts';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

/**
 * A route rule protects /admin with a scope; another rule forwards any other one-segment path
 * without one. No spelling of /admin may reach the upstream for a key without the scope.
 */
const CONFIG = `
routes:
  - { method: GET, path: /admin, scopes: [admin] }
  - { method: GET, path: '/admin/{section}', scopes: [admin] }
  - { method: GET, path: '/{page}' }
  - { method: GET, path: '/public/{file}' }
`;

/** Spellings of /admin, and of paths that some server somewhere would read as /admin. */
const VARIANTS = [
  '/ADMIN', '/Admin', '/aDmIn',
  '//admin', '/admin/', '/admin//', '/./admin', '/admin/.', '/public/../admin', '/public/./../admin', '/x/../admin',
  '/%2e/admin', '/%2E/admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin', '/public/.%2e/admin', '/public/%2e./admin', '/public/%2E%2e/admin',
  '/public%2F..%2Fadmin', '/public%2f..%2fadmin', '/public/..%2Fadmin', '/public/..%2fadmin', '/%2Fadmin', '/%2fadmin',
  '/public%5C..%5Cadmin', '/public%5c..%5cadmin', '/public\\..\\admin', '/\\admin', '/public/..\\admin',
  '/admin%00', '/admin%00.json', '/%00/../admin', '/admin%0A', '/admin%0d%0a', '/admin%7F', '/admin%09',
  '/%61dmin', '/%61%64%6d%69%6e', '/%41DMIN', '/adm%69n', '/adm%49N',
  '/admin;', '/admin;x=1', '/admin;/x', '/public/..;/admin', '/;/admin',
  '/admin%', '/admin%2', '/admin%zz', '/admin%%32%65', '/%%32%65%%32%65/admin', '/admin%g0',
  '/%C0%AE%C0%AE/admin', '/public/%C0%AE%C0%AE/admin', '/public/%c0%ae%c0%ae/admin', '/%E0%80%AE%E0%80%AE/admin', '/public/%C0%AF../admin', '/%C0%AFadmin',
  '/admin#', '/admin#x', '/public/..#/admin', '/admin%23',
  '/admin?x=1', '/admin/?', '/admin/.?x',
];

/** The most lenient reading of a path any server might make: decode repeatedly, fold case and separators, drop `;` parameters, resolve dots. */
function lenientReading(path: string): string {
  let text = path.split('?')[0]!.split('#')[0]!;
  for (let round = 0; round < 3; round++) {
    try {
      text = decodeURIComponent(text);
    } catch {
      text = text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
  }
  text = text.replace(/\u0000.*$/s, '').replaceAll('\\', '/').replaceAll('\u00c0\u00ae', '.').replaceAll('\u00c0\u00af', '/').toLowerCase();
  const segments: string[] = [];
  for (const raw of text.split('/')) {
    const segment = raw.split(';')[0]!.replace(/[\s.]+$/, (match) => (raw === '.' || raw === '..' ? match : ''));
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

for (const policy of ['refuse', 'normalise'] as const) {
  describe(`a route rule protecting /admin cannot be bypassed (paths.nonCanonical: ${policy})`, () => {
    const directory = temporaryDirectory();
    const storePath = join(directory.path, 'keys.db');
    let upstream: RecordingUpstream;
    let gateway: RunningGateway;
    let port: number;
    let key: string;
    let adminKey: string;

    before(async () => {
      upstream = await startRecordingUpstream();
      const configFile = join(directory.path, 'portcullis.yaml');
      writeFileSync(configFile, CONFIG);
      const config = loadConfig({
        configFile,
        env: { PORTCULLIS_PATHS_NON_CANONICAL: policy, PORTCULLIS_ADMIN_LISTEN: '' },
        flags: [
          { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
          { field: 'upstream.url', value: upstream.url, flag: '--upstream' },
          { field: 'store', value: storePath, flag: '--store' },
        ],
        cwd: directory.path,
      });
      gateway = await startGateway(config, createLogger('silent'));
      port = gateway.address.port;
      key = (await createKeyInStore(storePath, { scopes: ['reports'] })).key;
      adminKey = (await createKeyInStore(storePath, { scopes: ['admin'] })).key;
    });
    after(async () => {
      await gateway?.stop();
      await upstream?.close();
      directory.remove();
    });

    it('lets the real paths through, so the test measures the variants and not a broken setup', async () => {
      assert.equal((await rawRequest(port, 'GET', '/admin', { 'x-api-key': adminKey })).status, 200);
      assert.equal((await rawRequest(port, 'GET', '/reports', { 'x-api-key': key })).status, 200);
      assert.equal((await rawRequest(port, 'GET', '/admin', { 'x-api-key': key })).status, 403);
    });

    for (const variant of VARIANTS) {
      it(`refuses ${JSON.stringify(variant)} or forwards it as something other than /admin`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(port, 'GET', variant, { 'x-api-key': key });
        const forwarded = upstream.requests.slice(before);
        for (const received of forwarded) {
          assert.notEqual(lenientReading(received.url), '/admin', `forwarded ${JSON.stringify(received.url)} for ${JSON.stringify(variant)}`);
          assert.ok(!lenientReading(received.url).startsWith('/admin/'), `forwarded ${JSON.stringify(received.url)} for ${JSON.stringify(variant)}`);
        }
        if (lenientReading(variant) === '/admin' || lenientReading(variant).startsWith('/admin/')) {
          assert.ok([400, 403, 404].includes(response.status), `${JSON.stringify(variant)} answered ${response.status}`);
          assert.equal(forwarded.length, 0, `${JSON.stringify(variant)} reached the upstream`);
        }
      });
    }

    it('refuses a spelling that differs from a route only in letter case, whatever an upstream router does with case', async () => {
      for (const sent of ['/ADMIN', '/aDmIn', '/adm%49N', '/Admin/reports']) {
        const before = upstream.requests.length;
        const response = await rawRequest(port, 'GET', sent, { 'x-api-key': adminKey });
        assert.equal(upstream.requests.length, before, `${sent} reached the upstream`);
        assert.equal(response.status, 400, sent);
        assert.match(response.body, /"code":"path_not_canonical"/, sent);
      }
    });

    it('answers 400 path_not_canonical for the refused spellings', async () => {
      const alwaysRefused = ['/public%2Fadmin', '/admin%00', '/admin%zz', '/%C0%AE%C0%AE/admin', '/admin;x=1', '/public\\admin', '/../admin'];
      const refusedByDefault = ['/a//b', '/public/%2e%2e/admin', '/%61dmin', '/admin/'];
      for (const variant of policy === 'refuse' ? [...alwaysRefused, ...refusedByDefault] : alwaysRefused) {
        const response = await rawRequest(port, 'GET', variant, { 'x-api-key': adminKey });
        assert.equal(response.status, 400, variant);
        assert.match(response.body, /"code":"path_not_canonical"/, variant);
      }
      if (policy === 'normalise') {
        for (const variant of refusedByDefault.slice(1)) {
          const before = upstream.requests.length;
          assert.equal((await rawRequest(port, 'GET', variant, { 'x-api-key': adminKey })).status, 200, variant);
          assert.equal(upstream.requests.at(-1)!.url, '/admin', 'the canonical path is what is forwarded');
          assert.equal(upstream.requests.length, before + 1);
        }
      }
    });
  });
}
