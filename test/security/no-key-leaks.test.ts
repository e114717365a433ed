import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { runCli, spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';
import { adminCall } from '../support/admin-client.ts';

/**
 * Drives a real gateway process through everything that handles keys and admin tokens
 * (issuing, using, misusing, revoking and rotating keys; logging in; failures upstream) with
 * the most verbose logs and the access log on, then searches everything an operator or a
 * client can read afterwards for any of the secrets: the logs, the metrics, the audit log and
 * every error body. A key or token may appear only in the one response that issues it.
 */
describe('no key or admin token ever appears in logs, metrics, audit entries or error bodies', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  let upstream: Server;
  let gateway: GatewayProcess;
  let admin: string;
  const secrets: string[] = [];
  const readable: Array<{ where: string; text: string }> = [];

  before(async () => {
    // An upstream that answers, and cuts the connection on /reset (an upstream failure).
    upstream = createServer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/reset')) req.socket.destroy();
      else res.end('fine');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    gateway = await spawnGateway(['--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--store', store], {
      env: { PORTCULLIS_LOG_LEVEL: 'trace', PORTCULLIS_LOG_ACCESS: 'true', PORTCULLIS_KEYS_QUERY_PARAMETER: 'api_key', PORTCULLIS_USAGE_FLUSH_INTERVAL: '100ms', PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms' },
    });
    const listening = /"url":"(http:\/\/[^"]+)","msg":"admin listening"/.exec(gateway.stdout());
    assert.ok(listening, 'the admin listener is in the log');
    admin = listening[1] as string;
  });
  after(async () => {
    await gateway.stop();
    await new Promise((resolve) => upstream.close(resolve));
    directory.remove();
  });

  /** A gateway request whose problem body (if any) is kept for the search. */
  async function call(path: string, headers: Record<string, string> = {}): Promise<number> {
    const response = await request(`${gateway.url}${path}`, { headers });
    const text = await response.body.text();
    if (response.statusCode !== 200) readable.push({ where: `gateway ${path} ${response.statusCode}`, text: JSON.stringify(response.headers) + text });
    return response.statusCode;
  }

  async function adminKeep<T>(method: string, path: string, options: Parameters<typeof adminCall>[3], issues = false): Promise<T> {
    const response = await adminCall<T>(admin, method, path, options);
    // The only response allowed to hold a secret is the one that issues it.
    if (!issues) readable.push({ where: `admin ${method} ${path} ${response.status}`, text: JSON.stringify(response.headers) + response.text });
    return response.body;
  }

  it('after every path a secret can take', async () => {
    const created = await runCli(['admin', 'token', 'create', '--role', 'write', '--json', '--store', store]);
    const adminToken = (JSON.parse(created.stdout) as { token: string }).token;
    secrets.push(adminToken);

    const first = await adminKeep<{ id: string; key: string }>('POST', '/api/keys', { token: adminToken, body: { name: 'leak-test', tags: ['t'] } }, true);
    const second = await adminKeep<{ id: string; key: string }>('POST', '/api/keys', { token: adminToken, body: { name: 'leak-test-2' } }, true);
    secrets.push(first.key, second.key);

    // Good uses, in every place a key may travel.
    assert.equal(await call('/a', { 'x-api-key': first.key }), 200);
    assert.equal(await call('/b', { authorization: `Bearer ${first.key}` }), 200);
    assert.equal(await call(`/c?api_key=${first.key}&x=1`), 200);
    assert.equal(await call('/d', { 'x-api-key': first.key, 'x-request-id': first.key }), 200);
    // Misuses: a broken key, two different keys, the admin token as an API key, an upstream failure.
    assert.equal(await call('/e', { 'x-api-key': `${first.key.slice(0, -1)}${first.key.endsWith('z') ? 'y' : 'z'}` }), 401);
    assert.equal(await call('/f', { 'x-api-key': first.key, authorization: `Bearer ${second.key}` }), 400);
    assert.equal(await call(`/g?api_key=${second.key}`, { 'x-api-key': first.key }), 400);
    assert.equal(await call('/h', { authorization: `Bearer ${adminToken}` }), 401);
    assert.equal(await call('/reset', { 'x-api-key': first.key }), 502);

    // Admin API misuses: an API key as an admin token, and as a login.
    await adminKeep('GET', '/api/keys', { token: first.key });
    await adminKeep('POST', '/api/session', { body: { token: first.key } });
    // A dashboard session that revokes and rotates.
    const login = await adminCall<{ csrfToken: string }>(admin, 'POST', '/api/session', { body: { token: adminToken } });
    const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
    await adminKeep('POST', `/api/keys/${first.id}/revoke`, { headers: { cookie, 'x-csrf-token': login.body.csrfToken }, body: { reason: 'leak test' } });
    const rotated = await adminKeep<{ key: string }>('POST', `/api/keys/${second.id}/rotate`, { headers: { cookie, 'x-csrf-token': login.body.csrfToken }, body: { grace: '0s' } }, true);
    secrets.push(rotated.key);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await call('/i', { 'x-api-key': first.key }), 401);
    assert.equal(await call('/j', { 'x-api-key': second.key }), 401);
    assert.equal(await call('/k', { 'x-api-key': rotated.key }), 200);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a usage flush

    await adminKeep('GET', '/metrics', { token: adminToken });
    await adminKeep('GET', '/api/audit?limit=500', { token: adminToken });
    await adminKeep('GET', `/api/keys/${first.id}/usage`, { token: adminToken });
    await adminKeep('GET', '/api/usage', { token: adminToken });
    await adminKeep('GET', '/api/keys?limit=500', { token: adminToken });
    const cliAudit = await runCli(['audit', 'list', '--json', '--limit', '1000', '--store', store]);
    readable.push({ where: 'audit list --json', text: cliAudit.stdout + cliAudit.stderr });
    const keysList = await runCli(['keys', 'list', '--json', '--store', store]);
    readable.push({ where: 'keys list --json', text: keysList.stdout });
    await gateway.stop();
    readable.push({ where: 'gateway stdout (logs)', text: gateway.stdout() }, { where: 'gateway stderr', text: gateway.stderr() });

    // The logs did record the traffic: the search below looks at real content.
    assert.match(gateway.stdout(), /"msg":"request"/);
    assert.match(gateway.stdout(), /"msg":"upstream exchange failed"/);
    assert.match(gateway.stdout(), /"msg":"admin request"/);
    for (const secret of secrets) {
      // The whole secret, and its random part (which is what identifies it).
      const randomPart = secret.slice(secret.lastIndexOf('_') + 1, -6);
      for (const { where, text } of readable) {
        assert.ok(!text.includes(secret), `${where} contains a secret`);
        assert.ok(!text.includes(randomPart), `${where} contains a secret's random part`);
      }
    }
    assert.ok(readable.length > 15);
  });
});
