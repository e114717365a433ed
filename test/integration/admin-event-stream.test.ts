import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, temporaryDirectory } from '../support/processes.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';

interface OpenStream {
  /** Resolves with the time the server ended the stream. */
  ended: Promise<number>;
  /** The time it ended, or null if it is still open after `ms`. */
  endedWithin(ms: number): Promise<number | null>;
  close(): void;
}

/** Opens GET /api/events and follows it until the server ends it. */
async function openEventStream(admin: string, headers: Record<string, string>): Promise<OpenStream> {
  const response = await request(`${admin}/api/events`, { headers });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /^text\/event-stream/);
  // Events and heartbeats are read and dropped: only the end matters here.
  const ended = new Promise<number>((resolve) => {
    response.body.on('end', () => resolve(Date.now()));
    response.body.on('error', () => {});
    response.body.resume();
  });
  return {
    ended,
    endedWithin: (ms) => Promise.race([ended, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]),
    close: () => response.body.destroy(),
  };
}

describe('admin event streams end with their session or token', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let admin: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, storePath);
    admin = (gateway.gateway.admin as { url: string }).url;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  async function login(token: string): Promise<{ cookie: string; csrfToken: string }> {
    const response = await adminCall<{ csrfToken: string }>(admin, 'POST', '/api/session', { body: { token } });
    assert.equal(response.status, 200);
    return { cookie: String(response.headers['set-cookie']).split(';')[0]!, csrfToken: response.body.csrfToken };
  }

  it('a stream opened with a session cookie ends within 1 s of logout; another stream stays open', async () => {
    const writer = await createAdminToken(gateway.gateway.store, 'write');
    const session = await login(writer.token);
    const stream = await openEventStream(admin, { cookie: session.cookie });
    const bystander = await openEventStream(admin, { authorization: `Bearer ${writer.token}` });
    try {
      assert.equal(await stream.endedWithin(700), null, 'open while the session is');
      const logout = await adminCall(admin, 'DELETE', '/api/session', { headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } });
      assert.equal(logout.status, 204);
      const loggedOutAt = Date.now();
      const endedAt = await stream.endedWithin(1000);
      assert.notEqual(endedAt, null, 'the stream ended within 1 s of logout');
      assert.ok(endedAt! - loggedOutAt <= 1000);
      assert.equal(await bystander.endedWithin(600), null, 'the same token\'s bearer stream is not the session\'s');
    } finally {
      stream.close();
      bystander.close();
    }
  });

  it('a stream opened with a bearer token ends within 1 s of `portcullis admin token revoke` (another process)', async () => {
    const reader = await createAdminToken(gateway.gateway.store, 'read');
    const other = await createAdminToken(gateway.gateway.store, 'read');
    const stream = await openEventStream(admin, { authorization: `Bearer ${reader.token}` });
    const bystander = await openEventStream(admin, { authorization: `Bearer ${other.token}` });
    try {
      const revoked = await runCli(['admin', 'token', 'revoke', reader.id, '--store', storePath]);
      assert.equal(revoked.code, 0, revoked.stderr);
      const revokedAt = Date.now();
      const endedAt = await stream.endedWithin(1000);
      assert.notEqual(endedAt, null, 'the stream ended within 1 s of the revocation');
      assert.ok(endedAt! - revokedAt <= 1000);
      assert.equal(await bystander.endedWithin(600), null, 'a stream of another token stays open');
      assert.equal((await adminCall(admin, 'GET', '/api/events', { token: reader.token })).status, 401, 'and cannot be reopened');
    } finally {
      stream.close();
      bystander.close();
    }
  });

  it('a session\'s stream ends within 1 s when its token is revoked through another connection to the store (as another node would)', async () => {
    const writer = await createAdminToken(gateway.gateway.store, 'write');
    const session = await login(writer.token);
    const stream = await openEventStream(admin, { cookie: session.cookie });
    const elsewhere = await openKeyStore(storePath);
    try {
      await elsewhere.revokeAdminToken(writer.id, Date.now(), CLI_ACTOR);
      const revokedAt = Date.now();
      const endedAt = await stream.endedWithin(1000);
      assert.notEqual(endedAt, null, 'the stream ended within 1 s of the revocation');
      assert.ok(endedAt! - revokedAt <= 1000);
      assert.equal((await adminCall(admin, 'GET', '/api/session', { headers: { cookie: session.cookie } })).status, 401, 'the session is over too');
    } finally {
      stream.close();
      await elsewhere.close();
    }
  });
});
