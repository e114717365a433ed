import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { adminPaths } from '../../src/admin/admin-openapi.ts';

interface KeyView { id: string; name: string; status: string; tags: string[]; key?: string; digest?: string; revokedReason?: string | null; replaces?: string }
interface Problem { type: string; title: string; status: number; detail: string; code: string }

async function gatewayStatus(url: string, key: string): Promise<{ status: number; code?: string }> {
  const response = await request(url, { headers: { 'x-api-key': key } });
  if (response.statusCode === 200) {
    await response.body.dump();
    return { status: 200 };
  }
  return { status: response.statusCode, code: ((await response.body.json()) as Problem).code };
}

async function waitFor(predicate: () => Promise<boolean>, limit = 2000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > limit) throw new Error(`condition not met within ${limit} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function assertProblem(response: { status: number; headers: Record<string, unknown>; body: unknown }, status: number, code: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(String(response.headers['content-type']), /^application\/problem\+json(; charset=utf-8)?$/);
  const problem = response.body as Problem;
  assert.equal(problem.code, code);
  assert.equal(problem.type, `urn:portcullis:problem:${code}`);
  assert.equal(problem.status, status);
  assert.equal(typeof problem.title, 'string');
  assert.equal(typeof problem.detail, 'string');
}

describe('admin API', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let admin: string;
  let writer: { id: string; token: string };
  let reader: { id: string; token: string };

  before(async () => {
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'), { env: { PORTCULLIS_USAGE_FLUSH_INTERVAL: '100ms' } });
    admin = (gateway.gateway.admin as { url: string }).url;
    writer = await createAdminToken(gateway.gateway.store, 'write', 'ops');
    reader = await createAdminToken(gateway.gateway.store, 'read', 'auditor');
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('listens on its own loopback listener, and nothing of it is served on the public one', async () => {
    assert.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(admin).port, new URL(gateway.url).port);
    const forwardedBefore = upstream.requests.length;
    for (const path of ['/api/keys', '/metrics', '/openapi.json', '/']) {
      const response = await request(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${writer.token}` } });
      const problem = (await response.body.json()) as Problem;
      // An admin token is not an API key: the public listener refuses it like any bad key.
      assert.equal(problem.code, 'key_invalid', path);
    }
    assert.equal(upstream.requests.length, forwardedBefore);
  });

  it('serves its OpenAPI document, which names every route this API answers', async () => {
    const response = await adminCall<{ openapi: string; paths: Record<string, Record<string, { operationId: string; 'x-role': string }>> }>(admin, 'GET', '/openapi.json');
    assert.equal(response.status, 200);
    assert.equal(response.body.openapi, '3.1.0');
    assert.deepEqual(Object.keys(response.body.paths).sort(), Object.keys(adminPaths).sort());
    for (const operations of Object.values(response.body.paths)) {
      for (const operation of Object.values(operations)) assert.ok(['public', 'read', 'write'].includes(operation['x-role']), operation.operationId);
    }
  });

  it('serves every operation of its document (and only the event stream is left to its own test)', async () => {
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'every-route' } });
    for (const [path, operations] of Object.entries(adminPaths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (operation.operationId === 'streamEvents') continue;
        const response = await adminCall<Problem>(admin, method.toUpperCase(), path.replace('{id}', key.id), { token: writer.token, body: method === 'get' || method === 'delete' ? undefined : {} });
        assert.ok(response.status !== 404 || response.body.detail !== 'No such admin route.', `${method} ${path} is not served`);
        assert.ok(response.status < 500, `${method} ${path}: ${response.status}`);
      }
    }
  });

  it('answers health without a token', async () => {
    const response = await adminCall<{ status: string; changeFeed: { lagSeconds: number } }>(admin, 'GET', '/api/health');
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'ok');
    assert.ok(response.body.changeFeed.lagSeconds < 5);
  });

  it('refuses calls without a valid token: 401 with a Bearer challenge', async () => {
    for (const token of [undefined, 'not-a-token', `${writer.token.slice(0, -1)}${writer.token.endsWith('x') ? 'y' : 'x'}`, 'pcladmin_' + 'A'.repeat(49)]) {
      const response = await adminCall(admin, 'GET', '/api/keys', { token });
      assertProblem(response, 401, 'admin_unauthorized');
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="portcullis-admin"');
    }
    const revoked = await createAdminToken(gateway.gateway.store, 'write');
    assert.equal((await adminCall(admin, 'GET', '/api/keys', { token: revoked.token })).status, 200);
    await gateway.gateway.store.revokeAdminToken(revoked.id, Date.now(), { actor: 'cli', address: null });
    assertProblem(await adminCall(admin, 'GET', '/api/keys', { token: revoked.token }), 401, 'admin_unauthorized');
  });

  it('creates a key, shows it once, and the gateway accepts it', async () => {
    const created = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'web-1', tags: ['frontend'], expiresIn: '30d', metadata: { owner: 'team-web' } } });
    assert.equal(created.status, 201);
    assert.equal(created.headers['cache-control'], 'no-store');
    assert.match(created.body.key as string, /^pcl_[A-Za-z0-9]{49}$/);
    assert.equal(created.body.status, 'active');
    assert.equal(created.body.digest, undefined, 'the digest is never shown');
    assert.equal((await gatewayStatus(`${gateway.url}/hello`, created.body.key as string)).status, 200);

    const shown = await adminCall<KeyView & { metadata: unknown; expiresAt: string }>(admin, 'GET', `/api/keys/${created.body.id}`, { token: reader.token });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.key, undefined, 'the key is never shown again');
    assert.equal(shown.body.digest, undefined);
    assert.deepEqual(shown.body.metadata, { owner: 'team-web' });
    assert.ok(Date.parse(shown.body.expiresAt) > Date.now() + 29 * 86_400_000);
  });

  it('lists keys with search, tag and status filters, and pages', async () => {
    const ids: string[] = [];
    for (const name of ['list-a', 'list-b', 'list-c']) {
      ids.push((await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name, tags: ['listing'] } })).body.id);
    }
    await adminCall(admin, 'POST', `/api/keys/${ids[1]}/revoke`, { token: writer.token, body: {} });
    const byTag = await adminCall<{ items: KeyView[]; next: string | null }>(admin, 'GET', '/api/keys?tag=listing', { token: reader.token });
    assert.deepEqual(byTag.body.items.map((key) => key.id), [...ids].sort());
    const active = await adminCall<{ items: KeyView[] }>(admin, 'GET', '/api/keys?tag=listing&status=active', { token: reader.token });
    assert.deepEqual(active.body.items.map((key) => key.name).sort(), ['list-a', 'list-c']);
    const search = await adminCall<{ items: KeyView[] }>(admin, 'GET', '/api/keys?q=LIST-B', { token: reader.token });
    assert.deepEqual(search.body.items.map((key) => key.name), ['list-b']);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const query: string = `/api/keys?tag=listing&limit=2${after === null ? '' : `&after=${after}`}`;
      const page: { body: { items: KeyView[]; next: string | null } } = await adminCall(admin, 'GET', query, { token: reader.token });
      seen.push(...page.body.items.map((key) => key.id));
      after = page.body.next;
    } while (after !== null);
    assert.deepEqual(seen, [...ids].sort());
  });

  it('updates settings, and the audit log records what changed and who changed it', async () => {
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'before' } });
    const updated = await adminCall<KeyView & { expiresAt: string }>(admin, 'PATCH', `/api/keys/${key.id}`, { token: writer.token, body: { name: 'after', tags: ['renamed'], expiresAt: '2099-01-01T00:00:00.000Z' } });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.name, 'after');
    assert.deepEqual(updated.body.tags, ['renamed']);
    assert.equal(updated.body.expiresAt, '2099-01-01T00:00:00.000Z');
    const audit = await adminCall<{ items: Array<{ action: string; actor: string; address: string; details: unknown }> }>(admin, 'GET', `/api/audit?target=${key.id}`, { token: reader.token });
    assert.deepEqual(audit.body.items.map((entry) => [entry.action, entry.actor, entry.address]), [
      ['key.updated', writer.id, '127.0.0.1'],
      ['key.created', writer.id, '127.0.0.1'],
    ]);
    assert.deepEqual(audit.body.items[0]!.details, { changes: { name: { from: 'before', to: 'after' }, tags: { from: [], to: ['renamed'] }, expiresAt: { from: null, to: Date.parse('2099-01-01T00:00:00.000Z') } } });
  });

  it('sets, shows and clears a key\'s own leak action; refuses any other value', async () => {
    const { body: key } = await adminCall<KeyView & { leakAction: unknown }>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'own action', leakAction: 'revoke' } });
    assert.equal(key.leakAction, 'revoke');
    const updated = await adminCall<{ leakAction: unknown }>(admin, 'PATCH', `/api/keys/${key.id}`, { token: writer.token, body: { leakAction: 'notify' } });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.leakAction, 'notify');
    const refused = await adminCall(admin, 'PATCH', `/api/keys/${key.id}`, { token: writer.token, body: { leakAction: 'delete' } });
    assert.equal(refused.status, 400);
    const cleared = await adminCall<{ leakAction: unknown }>(admin, 'PATCH', `/api/keys/${key.id}`, { token: writer.token, body: { leakAction: null } });
    assert.equal(cleared.body.leakAction, null);
    const shown = await adminCall<{ leakAction: unknown }>(admin, 'GET', `/api/keys/${key.id}`, { token: reader.token });
    assert.equal(shown.body.leakAction, null);
  });

  it('refuses with 400 metadata no store can hold (U+0000), naming the field, and changes nothing', async () => {
    const created = await adminCall<KeyView & { problem?: unknown }>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'nul', metadata: { note: 'a\u0000b' } } });
    assert.equal(created.status, 400);
    assert.match(JSON.stringify(created.body), /request_invalid/);
    assert.match(JSON.stringify(created.body), /metadata/);
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'clean' } });
    const updated = await adminCall(admin, 'PATCH', `/api/keys/${key.id}`, { token: writer.token, body: { metadata: { deep: { note: '\u0000' } } } });
    assert.equal(updated.status, 400);
    const shown = await adminCall<{ metadata: unknown }>(admin, 'GET', `/api/keys/${key.id}`, { token: reader.token });
    assert.deepEqual(shown.body.metadata, {});
  });

  it('revokes a key with a reason; the gateway refuses it within a poll', async () => {
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'to-revoke' } });
    assert.equal((await gatewayStatus(`${gateway.url}/r`, key.key as string)).status, 200);
    const revoked = await adminCall<KeyView>(admin, 'POST', `/api/keys/${key.id}/revoke`, { token: writer.token, body: { reason: 'laptop stolen' } });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, 'revoked');
    assert.equal(revoked.body.revokedReason, 'laptop stolen');
    await waitFor(async () => (await gatewayStatus(`${gateway.url}/r`, key.key as string)).code === 'key_revoked');
    // Revoking again changes nothing and is not an error.
    assert.equal((await adminCall<KeyView>(admin, 'POST', `/api/keys/${key.id}/revoke`, { token: writer.token })).body.revokedReason, 'laptop stolen');
  });

  it('quarantines a key (403 key_quarantined within a poll) and releases it, both audited', async () => {
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'to-hold' } });
    assertProblem(await adminCall(admin, 'POST', `/api/keys/${key.id}/quarantine`, { token: writer.token, body: {} }), 400, 'request_invalid');
    const held = await adminCall<KeyView & { quarantinedReason: string | null; quarantinedAt: string | null }>(admin, 'POST', `/api/keys/${key.id}/quarantine`, { token: writer.token, body: { reason: 'seen in a paste' } });
    assert.equal(held.status, 200);
    assert.deepEqual([held.body.status, held.body.quarantinedReason], ['quarantined', 'seen in a paste']);
    assert.match(String(held.body.quarantinedAt), /^\d{4}-\d\d-\d\dT/);
    await waitFor(async () => (await gatewayStatus(`${gateway.url}/h`, key.key as string)).code === 'key_quarantined');
    const refused = await request(`${gateway.url}/h`, { headers: { 'x-api-key': key.key as string } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.headers['www-authenticate'], undefined);
    await refused.body.dump();
    const released = await adminCall<KeyView & { quarantinedAt: string | null }>(admin, 'POST', `/api/keys/${key.id}/release`, { token: writer.token, body: { reason: 'false alarm' } });
    assert.deepEqual([released.status, released.body.status, released.body.quarantinedAt], [200, 'active', null]);
    await waitFor(async () => (await gatewayStatus(`${gateway.url}/h`, key.key as string)).status === 200);
    assertProblem(await adminCall(admin, 'POST', '/api/keys/key_doesnotexist/quarantine', { token: writer.token, body: { reason: 'x' } }), 404, 'not_found');
    const audit = await adminCall<{ items: Array<{ action: string; reason: string | null }> }>(admin, 'GET', `/api/audit?target=${key.id}`, { token: reader.token });
    assert.deepEqual(audit.body.items.map((entry) => [entry.action, entry.reason]), [['key.released', 'false alarm'], ['key.quarantined', 'seen in a paste'], ['key.created', null]]);
  });

  it('revokes every key of a tag', async () => {
    const keys: KeyView[] = [];
    for (const name of ['tag-1', 'tag-2']) keys.push((await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name, tags: ['batch-7'] } })).body);
    const other = (await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'other', tags: ['batch-8'] } })).body;
    const response = await adminCall<KeyView[]>(admin, 'POST', '/api/keys/revoke', { token: writer.token, body: { tag: 'batch-7', reason: 'batch leaked' } });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.map((key) => key.id).sort(), keys.map((key) => key.id).sort());
    await waitFor(async () => (await gatewayStatus(`${gateway.url}/t`, keys[1]!.key as string)).code === 'key_revoked');
    assert.equal((await gatewayStatus(`${gateway.url}/t`, other.key as string)).status, 200);
  });

  it('rotates a key: the new one works at once, the old one through its grace period', async () => {
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'rotating', tags: ['r'] } });
    const rotated = await adminCall<KeyView & { oldKeyExpiresAt: string }>(admin, 'POST', `/api/keys/${key.id}/rotate`, { token: writer.token, body: { grace: '1h' } });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.replaces, key.id);
    assert.deepEqual(rotated.body.tags, ['r']);
    assert.equal((await gatewayStatus(`${gateway.url}/g`, rotated.body.key as string)).status, 200);
    assert.equal((await gatewayStatus(`${gateway.url}/g`, key.key as string)).status, 200);
    assertProblem(await adminCall(admin, 'POST', `/api/keys/${key.id}/rotate`, { token: writer.token, body: {} }), 409, 'conflict');
  });

  it('reports usage per key and minute: requests, denials by code, bytes and addresses', async () => {
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'busy' } });
    for (let i = 0; i < 3; i++) assert.equal((await gatewayStatus(`${gateway.url}/u`, key.key as string)).status, 200);
    await adminCall(admin, 'POST', `/api/keys/${key.id}/revoke`, { token: writer.token, body: { reason: 'done' } });
    await waitFor(async () => (await gatewayStatus(`${gateway.url}/u`, key.key as string)).code === 'key_revoked');
    await gateway.gateway.flushUsage();
    const usage = await adminCall<{ totals: { requests: number; denied: number; bytesOut: number; distinctAddresses: number }; denials: Record<string, number>; points: Array<{ requests: number }>; addresses: Array<{ address: string }> }>(
      admin, 'GET', `/api/keys/${key.id}/usage?window=1h`, { token: reader.token },
    );
    assert.equal(usage.status, 200);
    assert.equal(usage.body.points.length, 60);
    assert.ok(usage.body.totals.requests >= 4, JSON.stringify(usage.body.totals));
    assert.equal(usage.body.totals.requests, usage.body.points.reduce((sum, point) => sum + point.requests, 0));
    assert.ok((usage.body.denials.key_revoked ?? 0) >= 1);
    assert.ok(usage.body.totals.bytesOut > 0);
    assert.deepEqual(usage.body.addresses.map((row) => row.address), ['127.0.0.1']);
    const summary = await adminCall<{ keys: Array<{ keyId: string; requests: number; key: { name: string } }> }>(admin, 'GET', '/api/usage?window=1h', { token: reader.token });
    assert.equal(summary.body.keys.find((row) => row.keyId === key.id)?.key.name, 'busy');
  });

  it('pages through the audit log and verifies its chain', async () => {
    const page = await adminCall<{ items: Array<{ seq: number }>; next: number | null }>(admin, 'GET', '/api/audit?limit=3', { token: reader.token });
    assert.equal(page.body.items.length, 3);
    const next = await adminCall<{ items: Array<{ seq: number }> }>(admin, 'GET', `/api/audit?limit=3&before=${page.body.next}`, { token: reader.token });
    assert.ok(next.body.items[0]!.seq < page.body.items[2]!.seq + 0.5 && next.body.items[0]!.seq === page.body.items[2]!.seq - 1);
    const verified = await adminCall<{ ok: boolean; entries: number }>(admin, 'GET', '/api/audit/verify', { token: reader.token });
    assert.equal(verified.body.ok, true);
    assert.ok(verified.body.entries > 5);
  });

  it('streams key changes as server-sent events', async () => {
    const response = await request(`${admin}/api/events`, { headers: { authorization: `Bearer ${reader.token}` } });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/event-stream/);
    const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'streamed' } });
    let received = '';
    for await (const chunk of response.body) {
      received += (chunk as Buffer).toString();
      if (received.includes(key.id)) break;
    }
    response.body.destroy();
    assert.match(received, new RegExp(`event: key\\nid: \\d+\\ndata: \\{"seq":\\d+,"keyId":"${key.id}","kind":"created"`));
  });

  it('serves Prometheus metrics to a read token only', async () => {
    assertProblem(await adminCall(admin, 'GET', '/metrics'), 401, 'admin_unauthorized');
    const response = await adminCall<string>(admin, 'GET', '/metrics', { token: reader.token });
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    assert.match(response.body, /^portcullis_requests_total\{outcome="forwarded"\} \d+$/m);
  });

  describe('roles', () => {
    it('a read token can look but cannot create, change, revoke or rotate', async () => {
      const { body: key } = await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'protected' } });
      const attempts: Array<[string, string, unknown]> = [
        ['POST', '/api/keys', { name: 'sneaky' }],
        ['PATCH', `/api/keys/${key.id}`, { name: 'sneaky' }],
        ['POST', `/api/keys/${key.id}/revoke`, { reason: 'sneaky' }],
        ['POST', '/api/keys/revoke', { tag: 'frontend' }],
        ['POST', `/api/keys/${key.id}/rotate`, {}],
        ['POST', `/api/keys/${key.id}/quarantine`, { reason: 'sneaky' }],
        ['POST', `/api/keys/${key.id}/release`, {}],
      ];
      for (const [method, path, body] of attempts) assertProblem(await adminCall(admin, method, path, { token: reader.token, body }), 403, 'admin_forbidden');
      assert.equal((await gatewayStatus(`${gateway.url}/p`, key.key as string)).status, 200, 'the key still works');
      const shown = await adminCall<KeyView>(admin, 'GET', `/api/keys/${key.id}`, { token: reader.token });
      assert.deepEqual([shown.body.name, shown.body.status], ['protected', 'active']);
      assert.deepEqual((await adminCall<{ items: unknown[] }>(admin, 'GET', `/api/audit?target=${key.id}`, { token: reader.token })).body.items.length, 1);
    });
  });

  describe('bad input gets problem+json with a stable code', () => {
    const cases: Array<[string, string, string, unknown, number, string]> = [
      ['unknown field', 'POST', '/api/keys', { name: 'x', admin: true }, 400, 'request_invalid'],
      ['missing name', 'POST', '/api/keys', { tags: ['a'] }, 400, 'request_invalid'],
      ['bad tag', 'POST', '/api/keys', { name: 'x', tags: ['no spaces'] }, 400, 'request_invalid'],
      ['long name', 'POST', '/api/keys', { name: 'x'.repeat(129) }, 400, 'request_invalid'],
      ['control character', 'POST', '/api/keys', { name: 'a\u0007b' }, 400, 'request_invalid'],
      ['bad duration', 'POST', '/api/keys', { name: 'x', expiresIn: 'soon' }, 400, 'request_invalid'],
      ['zero duration', 'POST', '/api/keys', { name: 'x', expiresIn: '0s' }, 400, 'request_invalid'],
      ['empty update', 'PATCH', '/api/keys/key_abc', {}, 400, 'request_invalid'],
      ['bad time', 'PATCH', '/api/keys/key_abc', { expiresAt: 'tomorrow' }, 400, 'request_invalid'],
      ['bad id', 'GET', '/api/keys/not%20an%20id', undefined, 400, 'request_invalid'],
      ['bad limit', 'GET', '/api/keys?limit=0', undefined, 400, 'request_invalid'],
      ['bad status', 'GET', '/api/keys?status=gone', undefined, 400, 'request_invalid'],
      ['unknown query parameter', 'GET', '/api/keys?colour=red', undefined, 400, 'request_invalid'],
      ['unknown key', 'GET', '/api/keys/key_doesnotexist', undefined, 404, 'not_found'],
      ['unknown key revoked', 'POST', '/api/keys/key_doesnotexist/revoke', {}, 404, 'not_found'],
      ['unknown route', 'GET', '/api/nothing', undefined, 404, 'not_found'],
    ];
    for (const [label, method, path, body, status, code] of cases) {
      it(`${label}: ${status} ${code}`, async () => {
        const response = await adminCall<Problem>(admin, method, path, { token: writer.token, body });
        assertProblem(response, status, code);
        assert.doesNotMatch(response.body.detail, /sneaky|no spaces|xxxxxxxxxx/, 'the detail does not echo input');
      });
    }

    it('a body that is not JSON: 400 request_invalid', async () => {
      assertProblem(await adminCall(admin, 'POST', '/api/keys', { token: writer.token, rawBody: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'request_invalid');
      assertProblem(await adminCall(admin, 'POST', '/api/keys', { token: writer.token, rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400, 'request_invalid');
    });
  });

  describe('dashboard sessions', () => {
    async function login(token: string): Promise<{ cookie: string; csrfToken: string; setCookie: string }> {
      const response = await adminCall<{ csrfToken: string; role: string }>(admin, 'POST', '/api/session', { body: { token } });
      assert.equal(response.status, 200);
      const setCookie = String(response.headers['set-cookie']);
      return { cookie: setCookie.split(';')[0]!, csrfToken: response.body.csrfToken, setCookie };
    }

    it('sets an HttpOnly, Secure, SameSite=Strict, __Host- cookie', async () => {
      const { setCookie } = await login(writer.token);
      assert.match(setCookie, /^__Host-portcullis_session=[A-Za-z0-9_-]{43};/);
      for (const attribute of [/; HttpOnly/i, /; Secure/i, /; SameSite=Strict/i, /; Path=\//]) assert.match(setCookie, attribute);
      assert.doesNotMatch(setCookie, /Domain=/i);
    });

    it('refuses a wrong token at login', async () => {
      assertProblem(await adminCall(admin, 'POST', '/api/session', { body: { token: 'pcladmin_nope' } }), 401, 'admin_unauthorized');
    });

    it('needs the CSRF token and a same origin for changes made with the cookie', async () => {
      const { cookie, csrfToken } = await login(writer.token);
      const who = await adminCall<{ tokenId: string; role: string }>(admin, 'GET', '/api/session', { headers: { cookie } });
      assert.deepEqual([who.body.tokenId, who.body.role], [writer.id, 'write']);
      assertProblem(await adminCall(admin, 'POST', '/api/keys', { headers: { cookie }, body: { name: 'csrf' } }), 403, 'csrf_failed');
      assertProblem(await adminCall(admin, 'POST', '/api/keys', { headers: { cookie, 'x-csrf-token': `${csrfToken.slice(0, -1)}${csrfToken.endsWith('A') ? 'B' : 'A'}` }, body: { name: 'csrf' } }), 403, 'csrf_failed');
      assertProblem(await adminCall(admin, 'POST', '/api/keys', { headers: { cookie, 'x-csrf-token': csrfToken, origin: 'https://evil.example' }, body: { name: 'csrf' } }), 403, 'csrf_failed');
      const created = await adminCall<KeyView>(admin, 'POST', '/api/keys', { headers: { cookie, 'x-csrf-token': csrfToken, origin: admin }, body: { name: 'csrf' } });
      assert.equal(created.status, 201);
      assertProblem(await adminCall(admin, 'POST', '/api/session', { headers: { origin: 'https://evil.example' }, body: { token: writer.token } }), 403, 'csrf_failed');
    });

    it('a read session cannot make changes either', async () => {
      const { cookie, csrfToken } = await login(reader.token);
      assertProblem(await adminCall(admin, 'POST', '/api/keys', { headers: { cookie, 'x-csrf-token': csrfToken }, body: { name: 'x' } }), 403, 'admin_forbidden');
    });

    it('ends at logout, and when its token is revoked', async () => {
      const first = await login(writer.token);
      assert.equal((await adminCall(admin, 'DELETE', '/api/session', { headers: { cookie: first.cookie, 'x-csrf-token': first.csrfToken } })).status, 204);
      assertProblem(await adminCall(admin, 'GET', '/api/keys', { headers: { cookie: first.cookie } }), 401, 'admin_unauthorized');
      const token = await createAdminToken(gateway.gateway.store, 'write');
      const second = await login(token.token);
      assert.equal((await adminCall(admin, 'GET', '/api/keys', { headers: { cookie: second.cookie } })).status, 200);
      await gateway.gateway.store.revokeAdminToken(token.id, Date.now(), { actor: 'cli', address: null });
      assertProblem(await adminCall(admin, 'GET', '/api/keys', { headers: { cookie: second.cookie } }), 401, 'admin_unauthorized');
    });
  });

  it('sends a strict Content-Security-Policy and no-sniff on every response', async () => {
    for (const path of ['/', '/api/health', '/api/keys']) {
      const response = await adminCall(admin, 'GET', path);
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'/);
      assert.doesNotMatch(String(response.headers['content-security-policy']), /unsafe/);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['x-frame-options'], 'DENY');
    }
  });
});

describe('admin listener start-up', () => {
  it('names the option when a program that does not share its address holds it, and the gateway does not start', async () => {
    const directory = temporaryDirectory();
    const upstream = await startRecordingUpstream();
    // Another Portcullis would share the port (SO_REUSEPORT, a restart that overlaps); a plain listener does not.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      await assert.rejects(
        startTestGateway(upstream.url, join(directory.path, 'b.db'), { env: { PORTCULLIS_ADMIN_LISTEN: `127.0.0.1:${taken}` } }),
        new RegExp(`admin\\.listen 127\\.0\\.0\\.1:${taken}: cannot listen \\(EADDRINUSE\\)`),
      );
    } finally {
      holder.close();
      await upstream.close();
      directory.remove();
    }
  });
});
