import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, temporaryDirectory } from '../support/processes.ts';
import { problemCode, rawRequest } from '../support/raw-client.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { countingStore } from '../support/counting-store.ts';

const bearer = (key: string): [string, string] => ['Authorization', `Bearer ${key}`];

describe('network access: allowlists, denylists and client address resolution over real sockets', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  const gateways: TestGateway[] = [];

  async function gatewayWith(name: string, env: Record<string, string>, listen?: string) {
    const storePath = join(directory.path, `${name}.db`);
    const counting = countingStore(await openKeyStore(storePath));
    const gateway = await startTestGateway(upstream.url, storePath, { env: { ...env, ...(listen ? { PORTCULLIS_LISTEN: listen } : {}) }, store: counting.store });
    gateways.push(gateway);
    return { gateway, storePath, counting };
  }

  before(async () => {
    upstream = await startRecordingUpstream();
  });
  after(async () => {
    for (const gateway of gateways) await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('answers 403 ip_not_allowed to a client outside the global allowlist, before any key lookup, and forwards nothing', async () => {
    const { gateway, storePath, counting } = await gatewayWith('allow', { PORTCULLIS_NETWORK_ALLOW: '127.0.0.1/32' });
    const { key } = await createKeyInStore(storePath);
    const forwardedBefore = upstream.requests.length;
    const lookupsBefore = counting.digestLookups();
    const outside = await rawRequest(`${gateway.url}/orders`, { localAddress: '127.0.0.2', headers: [bearer(key)] });
    assert.equal(outside.status, 403);
    assert.equal(problemCode(outside), 'ip_not_allowed');
    assert.equal(counting.digestLookups(), lookupsBefore, 'no key lookup for a refused address');
    assert.equal(upstream.requests.length, forwardedBefore);

    const inside = await rawRequest(`${gateway.url}/orders`, { localAddress: '127.0.0.1', headers: [bearer(key)] });
    assert.equal(inside.status, 200);
    assert.equal(upstream.requests.at(-1)!.headers['x-forwarded-for'], '127.0.0.1');
  });

  it('ignores a spoofed X-Forwarded-For (and Forwarded, X-Real-IP) from an untrusted peer, and does not pass it on', async () => {
    const { gateway, storePath } = await gatewayWith('spoof', { PORTCULLIS_NETWORK_ALLOW: '127.0.0.1/32' });
    const { key } = await createKeyInStore(storePath);
    const spoofed: Array<[string, string]> = [['X-Forwarded-For', '127.0.0.1'], ['Forwarded', 'for=127.0.0.1'], ['X-Real-IP', '127.0.0.1'], bearer(key)];
    const refused = await rawRequest(`${gateway.url}/x`, { localAddress: '127.0.0.2', headers: spoofed });
    assert.equal(refused.status, 403);
    const allowed = await rawRequest(`${gateway.url}/x`, { localAddress: '127.0.0.1', headers: [['X-Forwarded-For', '203.0.113.66'], ['Forwarded', 'for=203.0.113.66'], bearer(key)] });
    assert.equal(allowed.status, 200);
    const received = upstream.requests.at(-1)!;
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1', 'the client-sent chain is dropped');
    assert.equal(received.headers.forwarded, undefined);
  });

  it('behind a trusted proxy uses the rightmost untrusted X-Forwarded-For address, across several header lines', async () => {
    const { gateway, storePath } = await gatewayWith('xff', { PORTCULLIS_NETWORK_TRUST_PROXY: '127.0.0.3/32', PORTCULLIS_NETWORK_ALLOW: '198.51.100.0/24', PORTCULLIS_NETWORK_FORWARDED_HEADER: 'true' });
    const { key } = await createKeyInStore(storePath);
    // The client wrote the first line's left entry; the proxies appended the rest.
    const lines: Array<[string, string]> = [['X-Forwarded-For', '203.0.113.66, 198.51.100.7'], ['X-Forwarded-For', '127.0.0.3'], bearer(key)];
    const viaProxy = await rawRequest(`${gateway.url}/p`, { localAddress: '127.0.0.3', headers: lines });
    assert.equal(viaProxy.status, 200);
    const received = upstream.requests.at(-1)!;
    assert.equal(received.headers['x-forwarded-for'], '198.51.100.7, 127.0.0.3, 127.0.0.3');
    assert.equal(received.headers.forwarded, 'for=198.51.100.7, for=127.0.0.3, for=127.0.0.3;proto=http;host="127.0.0.1:' + new URL(gateway.url).port + '"');

    // Spoofing the allowed address from the left does not help: the rightmost untrusted entry is the client.
    const spoof = await rawRequest(`${gateway.url}/p`, { localAddress: '127.0.0.3', headers: [['X-Forwarded-For', '198.51.100.7, 203.0.113.66'], bearer(key)] });
    assert.equal(spoof.status, 403);
    // The same headers from a peer that is not a trusted proxy are ignored: the peer itself is the client.
    const untrusted = await rawRequest(`${gateway.url}/p`, { localAddress: '127.0.0.2', headers: lines });
    assert.equal(untrusted.status, 403);
    // An unknown node where the client should be falls back to the socket address (not allowed here).
    const unknown = await rawRequest(`${gateway.url}/p`, { localAddress: '127.0.0.3', headers: [['X-Forwarded-For', '198.51.100.7, unknown'], bearer(key)] });
    assert.equal(unknown.status, 403);
  });

  it('behind a trusted proxy reads RFC 7239 Forwarded when configured, with quoted IPv6 and IPv4-mapped nodes', async () => {
    const { gateway, storePath } = await gatewayWith('forwarded', { PORTCULLIS_NETWORK_TRUST_PROXY: '127.0.0.3/32', PORTCULLIS_NETWORK_CLIENT_ADDRESS_HEADER: 'forwarded', PORTCULLIS_NETWORK_ALLOW: '198.51.100.0/24,2001:db8::/32' });
    const { key } = await createKeyInStore(storePath);
    const ipv6 = await rawRequest(`${gateway.url}/f`, { localAddress: '127.0.0.3', headers: [['Forwarded', 'for=203.0.113.66'], ['Forwarded', 'for="[2001:db8::7]:4711";proto=https'], bearer(key)] });
    assert.equal(ipv6.status, 200);
    assert.equal(upstream.requests.at(-1)!.headers['x-forwarded-for'], '2001:db8::7, 127.0.0.3');
    const mapped = await rawRequest(`${gateway.url}/f`, { localAddress: '127.0.0.3', headers: [['Forwarded', 'for="[::ffff:198.51.100.9]"'], bearer(key)] });
    assert.equal(mapped.status, 200, 'an IPv4-mapped node matches the IPv4 rule');
    assert.equal(upstream.requests.at(-1)!.headers['x-forwarded-for'], '198.51.100.9, 127.0.0.3');
    const obfuscated = await rawRequest(`${gateway.url}/f`, { localAddress: '127.0.0.3', headers: [['Forwarded', 'for=_hidden'], bearer(key)] });
    assert.equal(obfuscated.status, 403, 'an obfuscated node falls back to the socket address');
  });

  it('matches IPv4 rules for clients that a dual-stack socket reports as IPv4-mapped IPv6', async () => {
    const { gateway, storePath } = await gatewayWith('mapped', { PORTCULLIS_NETWORK_ALLOW: '127.0.0.1/32' }, '[::ffff:127.0.0.1]:0');
    const { key } = await createKeyInStore(storePath);
    const port = new URL(gateway.url).port;
    const allowed = await rawRequest(`http://127.0.0.1:${port}/m`, { localAddress: '127.0.0.1', headers: [bearer(key)] });
    assert.equal(allowed.status, 200);
    assert.equal(upstream.requests.at(-1)!.headers['x-forwarded-for'], '127.0.0.1', 'the mapped form is unwrapped everywhere');
    const refused = await rawRequest(`http://127.0.0.1:${port}/m`, { localAddress: '127.0.0.2', headers: [bearer(key)] });
    assert.equal(refused.status, 403);
  });

  it('applies the denylist over the allowlist', async () => {
    const { gateway, storePath } = await gatewayWith('deny', { PORTCULLIS_NETWORK_ALLOW: '127.0.0.0/8', PORTCULLIS_NETWORK_DENY: '127.0.0.2' });
    const { key } = await createKeyInStore(storePath);
    assert.equal((await rawRequest(`${gateway.url}/d`, { localAddress: '127.0.0.2', headers: [bearer(key)] })).status, 403);
    assert.equal((await rawRequest(`${gateway.url}/d`, { localAddress: '127.0.0.4', headers: [bearer(key)] })).status, 200);
  });

  it('enforces a per-key allowlist after authentication (created with keys create --allow-ip)', async () => {
    const { gateway, storePath } = await gatewayWith('per-key', {});
    const created = await runCli(['keys', 'create', '--store', storePath, '--name', 'office', '--allow-ip', '127.0.0.1/32', '--allow-ip', '2001:db8::/32', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const restricted = JSON.parse(created.stdout) as { key: string; allowedCidrs: string[] };
    assert.deepEqual(restricted.allowedCidrs, ['127.0.0.1/32', '2001:db8::/32']);
    const { key: open } = await createKeyInStore(storePath);
    assert.equal((await rawRequest(`${gateway.url}/k`, { localAddress: '127.0.0.1', headers: [bearer(restricted.key)] })).status, 200);
    const outside = await rawRequest(`${gateway.url}/k`, { localAddress: '127.0.0.2', headers: [bearer(restricted.key)] });
    assert.equal(outside.status, 403);
    assert.equal(problemCode(outside), 'ip_not_allowed');
    assert.equal((await rawRequest(`${gateway.url}/k`, { localAddress: '127.0.0.2', headers: [bearer(open)] })).status, 200, 'keys without a list work from anywhere');
  });

  it('refuses to start with an invalid CIDR, naming it, with exit status 2; keys create refuses one too', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--allow-ip', '10.0.0.1/8'], {}, /network\.allow\.0 \(from --allow-ip\): expected an IPv4 or IPv6 address or CIDR.*found "10\.0\.0\.1\/8"/],
      [['--trust-proxy', '10.0.0.0/33'], {}, /network\.trustProxy.*10\.0\.0\.0\/33/],
      [[], { PORTCULLIS_NETWORK_DENY: '192.0.2.0/24,banana' }, /network\.deny.*banana/],
    ];
    for (const [args, env, message] of cases) {
      const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--store', join(directory.path, 'never.db'), '--upstream', upstream.url, ...args], { env: { PORTCULLIS_LOG_LEVEL: 'silent', ...env } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stdout, /gateway listening/);
    }
    const key = await runCli(['keys', 'create', '--store', join(directory.path, 'cli.db'), '--name', 'x', '--allow-ip', '10.0.0.0/8', '--allow-ip', '300.1.1.1']);
    assert.equal(key.code, 2);
    assert.match(key.stderr, /--allow-ip: Invalid CIDR "300\.1\.1\.1"/);
  });
});
