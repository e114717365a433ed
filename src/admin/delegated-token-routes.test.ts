/**
 * POST /api/tokens/{id}/revoke: a write token revokes one delegated token (audited with the
 * admin token as actor, idempotent); a read token cannot; a parent key named must exist.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import pino from 'pino';
import { buildAdminApp } from './admin-server.ts';
import { loadConfig } from '../app/config.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import type { Store } from '../store/store.ts';
import { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { RequestIds } from '../telemetry/request-id.ts';
import { assessHealth } from '../health/health-report.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { createAdminToken } from '../../test/support/admin-client.ts';

const changeFeed = { lastSeq: 0, caughtUpAt: Date.now(), subscribe: () => () => {} };
const health = () => assessHealth({ phase: 'serving', store: { reachable: true, lastContactAt: Date.now(), freshUntil: Number.POSITIVE_INFINITY }, changeFeed: { lastSeq: 0, notifications: 'not-used' } }, Date.now());
const metrics = new GatewayMetrics({ keyCache: () => ({ hits: 0, misses: 0, knownKeys: 0, unknownDigests: 0 }), changeFeedCaughtUpAt: () => Date.now(), changeFeedPosition: () => 0 });

describe('admin API: revoking one delegated token', () => {
  const directory = temporaryDirectory();
  let store: Store;
  let app: Awaited<ReturnType<typeof buildAdminApp>>['app'];
  let writer: string;
  let reader: string;
  before(async () => {
    store = await openKeyStore(join(directory.path, 'keys.db'));
    const config = loadConfig({ env: { PORTCULLIS_LOG_LEVEL: 'silent' }, cwd: '/nonexistent' });
    app = (await buildAdminApp({ config, store, changeFeed, metrics, requestIds: new RequestIds('test'), logger: pino({ level: 'silent' }), health })).app;
    writer = (await createAdminToken(store, 'write')).token;
    reader = (await createAdminToken(store, 'read')).token;
  });
  after(async () => {
    await app.close();
    await store.close();
    directory.remove();
  });

  const revoke = (id: string, token: string, payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/tokens/${id}/revoke`, remoteAddress: '127.0.0.1', headers: { authorization: `Bearer ${token}` }, payload });

  it('revokes with a write token, once, audited with the admin token as actor', async () => {
    const first = await revoke('tok_AAAA-BBBB', writer, { reason: 'copied into a ticket' });
    assert.equal(first.statusCode, 200, first.body);
    const { heldUntil, ...rest } = first.json<{ tokenId: string; keyId: string | null; changed: boolean; heldUntil: string }>();
    assert.deepEqual(rest, { tokenId: 'tok_AAAA-BBBB', keyId: null, changed: true });
    const held = Date.parse(heldUntil) - Date.now();
    assert.ok(held > 24 * 3600_000 && held <= 24 * 3600_000 + 5 * 60_000, 'held for the longest a token may live');
    assert.equal((await revoke('tok_AAAA-BBBB', writer, { reason: 'again' })).json<{ changed: boolean }>().changed, false);
    assert.deepEqual((await store.revokedTokensSince(0, Date.now())).map((row) => row.tokenId), ['tok_AAAA-BBBB']);
    const audited = (await store.listAuditEntries()).filter((entry) => entry.action === 'token.revoked');
    assert.equal(audited.length, 1);
    assert.match(audited[0]!.actor, /^adm_/, 'the admin token made the change');
  });

  it('refuses a read token, a missing reason, a bad id, and a parent key that does not exist', async () => {
    assert.equal((await revoke('tok_CCCC', reader, { reason: 'x' })).statusCode, 403);
    assert.equal((await revoke('tok_CCCC', writer, {})).statusCode, 400);
    assert.equal((await revoke('bad%20id', writer, { reason: 'x' })).statusCode, 400);
    const unknownKey = await revoke('tok_CCCC', writer, { reason: 'x', keyId: 'key_nope' });
    assert.equal(unknownKey.statusCode, 404);
    assert.deepEqual((await store.revokedTokensSince(0, Date.now())).map((row) => row.tokenId), ['tok_AAAA-BBBB'], 'nothing refused was written');
  });
});
