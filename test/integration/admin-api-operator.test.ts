import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';

interface KeyView { id: string; name: string; status: string; tags: string[]; expiresAt: string | null }
interface Problem { code: string; detail: string; errors?: Array<{ pointer: string; message: string }> }

describe('admin API for the dashboard: sorting, bulk changes, tokens, audit filters and export', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let admin: string;
  let writer: { id: string; token: string };
  let reader: { id: string; token: string };
  const ids: string[] = [];

  before(async () => {
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'));
    admin = gateway.gateway.admin!.url;
    writer = await createAdminToken(gateway.gateway.store, 'write', 'ops');
    reader = await createAdminToken(gateway.gateway.store, 'read', 'auditor');
    for (const name of ['b-key', '=SUM(A1)', 'a-key']) ids.push((await adminCall<KeyView>(admin, 'POST', '/api/keys', { token: writer.token, body: { name, tags: ['bulk'] } })).body.id);
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('sorts every key by a column, with totals by status, and pages with offset', async () => {
    const page = await adminCall<{ items: KeyView[]; nextOffset: number | null; matched: number; counts: Record<string, number> }>(admin, 'GET', '/api/keys?sort=name&order=asc&limit=2', { token: reader.token });
    assert.deepEqual(page.body.items.map((key) => key.name), ['=SUM(A1)', 'a-key']);
    assert.equal(page.body.nextOffset, 2);
    assert.deepEqual(page.body.counts, { total: 3, active: 3, rotating: 0, quarantined: 0, revoked: 0, expired: 0 });
    const rest = await adminCall<{ items: KeyView[]; nextOffset: number | null }>(admin, 'GET', '/api/keys?sort=name&order=asc&limit=2&offset=2', { token: reader.token });
    assert.deepEqual([rest.body.items.map((key) => key.name), rest.body.nextOffset], [['b-key'], null]);
    const newest = await adminCall<{ items: KeyView[] }>(admin, 'GET', '/api/keys?sort=created', { token: reader.token });
    assert.deepEqual(newest.body.items.map((key) => key.id), [...ids].reverse());
  });

  it('refuses each bad setting with a pointer to its field', async () => {
    const response = await adminCall<Problem>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'x', allowedCidrs: ['192.0.2.1/24'], quota: 'lots' } });
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.errors, [
      { pointer: '/body/allowedCidrs', message: 'allowedCidrs: it has host bits set; did you mean 192.0.2.0/24?' },
      { pointer: '/body/quota', message: 'quota: expected a quota such as 10000/day or 300000/month' },
    ]);
  });

  it('changes several keys as one change set, for write tokens only', async () => {
    assert.equal((await adminCall<Problem>(admin, 'POST', '/api/keys/bulk', { token: reader.token, body: { ids, action: 'revoke' } })).body.code, 'admin_forbidden');
    const tagged = await adminCall<{ changeSet: string; keys: KeyView[]; missing: string[] }>(admin, 'POST', '/api/keys/bulk', { token: writer.token, body: { ids: [...ids.slice(0, 2), 'key_missing'], action: 'addTag', tag: 'team-x' } });
    assert.match(tagged.body.changeSet, /^chg_/);
    assert.deepEqual(tagged.body.keys.map((key) => key.tags), [['bulk', 'team-x'], ['bulk', 'team-x']]);
    assert.deepEqual(tagged.body.missing, ['key_missing']);
    const expiry = '2099-01-01T00:00:00.000Z';
    const expired = await adminCall<{ keys: KeyView[] }>(admin, 'POST', '/api/keys/bulk', { token: writer.token, body: { ids: ids.slice(0, 2), action: 'expire', expiresAt: expiry } });
    assert.deepEqual(expired.body.keys.map((key) => key.expiresAt), [expiry, expiry]);
    const audit = await adminCall<{ items: Array<{ target: string; details: { changeSet?: string } }> }>(admin, 'GET', `/api/audit?action=key.updated&limit=10`, { token: reader.token });
    const sameSet = audit.body.items.filter((entry) => entry.details.changeSet === tagged.body.changeSet);
    assert.deepEqual(sameSet.map((entry) => entry.target).sort(), ids.slice(0, 2).sort());
  });

  it('lists, creates and revokes admin tokens for write tokens only', async () => {
    for (const [method, path, body] of [['GET', '/api/admin-tokens', undefined], ['POST', '/api/admin-tokens', { name: 'sneaky', role: 'write' }], ['POST', `/api/admin-tokens/${writer.id}/revoke`, undefined]] as const) {
      assert.equal((await adminCall<Problem>(admin, method, path, { token: reader.token, body })).body.code, 'admin_forbidden', `${method} ${path}`);
    }
    const created = await adminCall<{ id: string; token: string; role: string }>(admin, 'POST', '/api/admin-tokens', { token: writer.token, body: { name: 'ci', role: 'read' } });
    assert.equal(created.status, 201);
    assert.equal(created.headers['cache-control'], 'no-store');
    assert.equal((await adminCall(admin, 'GET', '/api/keys', { token: created.body.token })).status, 200);
    const listed = await adminCall<Array<{ id: string; lastUsedAt: string | null; current: boolean; token?: string }>>(admin, 'GET', '/api/admin-tokens', { token: writer.token });
    const row = listed.body.find((token) => token.id === created.body.id)!;
    assert.ok(row.lastUsedAt !== null, 'its use is remembered');
    assert.equal(row.token, undefined, 'never listed again');
    assert.equal(listed.body.find((token) => token.id === writer.id)?.current, true);
    await adminCall(admin, 'POST', `/api/admin-tokens/${created.body.id}/revoke`, { token: writer.token });
    assert.equal((await adminCall(admin, 'GET', '/api/keys', { token: created.body.token })).status, 401);
  });

  it('filters the audit log, names ids, and exports CSV that spreadsheets cannot run', async () => {
    const filtered = await adminCall<{ items: Array<{ action: string; actorName: string; targetName: string }> }>(admin, 'GET', `/api/audit?actor=${writer.id}&action=key.created&target=${ids[1]}`, { token: reader.token });
    assert.deepEqual(filtered.body.items.map((entry) => [entry.action, entry.actorName, entry.targetName]), [['key.created', 'ops', '=SUM(A1)']]);
    const future = await adminCall<{ items: unknown[] }>(admin, 'GET', `/api/audit?from=${new Date(Date.now() + 60_000).toISOString()}`, { token: reader.token });
    assert.deepEqual(future.body.items, []);
    const csv = await adminCall<string>(admin, 'GET', `/api/audit/export?format=csv&target=${ids[1]}&action=key.created`, { token: reader.token });
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /^attachment; filename="portcullis-audit-\d{8}T\d{6}\.csv"$/);
    assert.match(csv.body, /,key\.created,key_\w+,'=SUM\(A1\),/);
    const jsonl = await adminCall<string>(admin, 'GET', `/api/audit/export?target=${ids[1]}`, { token: reader.token });
    assert.ok(jsonl.body.trim().split('\n').every((line) => (JSON.parse(line) as { target: string }).target === ids[1]));
  });

  it('suggests no scopes without an OpenAPI document, and serves the overview', async () => {
    assert.deepEqual((await adminCall(admin, 'GET', '/api/scopes', { token: reader.token })).body, { source: 'none', scopes: [] });
    const overview = await adminCall<{ points: unknown[]; keys: { total: number }; node: { status: string }; pending: number }>(admin, 'GET', '/api/overview?window=6h', { token: reader.token });
    assert.equal(overview.status, 200);
    assert.equal(overview.body.points.length, 72);
    assert.equal(overview.body.keys.total, 3);
    assert.equal(overview.body.node.status, 'ok');
  });
});
