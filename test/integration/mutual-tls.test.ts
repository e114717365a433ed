import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, temporaryDirectory } from '../support/processes.ts';
import { problemCode, rawRequest } from '../support/raw-client.ts';
import { eventually, runTool } from '../support/tools.ts';
import { makeTlsFixtures, type CertificateFiles, type TlsFixtures } from '../support/tls-fixtures.ts';
import { itNeeding, requireTools } from '../support/required-service.ts';

describe('mutual TLS: client certificates, certificate-bound keys, certificates as identity', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: RecordingUpstream;
  const gateways: TestGateway[] = [];

  async function tlsGateway(name: string, env: Record<string, string>) {
    const storePath = join(directory.path, `${name}.db`);
    const gateway = await startTestGateway(upstream.url, storePath, {
      env: { PORTCULLIS_TLS_CERT: fixtures.server.certPath, PORTCULLIS_TLS_KEY: fixtures.server.keyPath, PORTCULLIS_TLS_CLIENT_CA: fixtures.ca.certPath, ...env },
    });
    gateways.push(gateway);
    return { gateway, storePath };
  }

  const withCertificate = (certificate: CertificateFiles | null, headers: Array<[string, string]> = []) => ({
    ca: fixtures.ca.cert,
    headers,
    ...(certificate === null ? {} : { cert: certificate.cert, key: certificate.key }),
  });

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startRecordingUpstream();
  });
  after(async () => {
    for (const gateway of gateways) await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  itNeeding(requireTools('curl'), 'clientAuth handshake (the default): no certificate, or one from another CA, fails the handshake', async () => {
    const { gateway, storePath } = await tlsGateway('handshake', {});
    const { key } = await createKeyInStore(storePath);
    const port = new URL(gateway.url).port;
    const base = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', fixtures.ca.certPath, '-H', `Authorization: Bearer ${key}`, `https://127.0.0.1:${port}/`];
    const without = await runTool('curl', base);
    assert.notEqual(without.code, 0, 'curl fails without a client certificate');
    assert.doesNotMatch(without.stdout, /200/);
    const stranger = await runTool('curl', ['--cert', fixtures.stranger.certPath, '--key', fixtures.stranger.keyPath, ...base]);
    assert.notEqual(stranger.code, 0, 'a certificate from another CA is refused');
    const withA = await runTool('curl', ['--cert', fixtures.clientA.certPath, '--key', fixtures.clientA.keyPath, ...base]);
    assert.equal(withA.code, 0, withA.stderr);
    assert.equal(withA.stdout, '200');
  });

  it('clientAuth request: a connection without a certificate gets 401 client_certificate_required', async () => {
    const { gateway, storePath } = await tlsGateway('request', { PORTCULLIS_TLS_CLIENT_AUTH: 'request' });
    const { key } = await createKeyInStore(storePath);
    const without = await rawRequest(`${gateway.url}/`, withCertificate(null, [['Authorization', `Bearer ${key}`]]));
    assert.equal(without.status, 401);
    assert.equal(problemCode(without), 'client_certificate_required');
    assert.ok(without.headers['www-authenticate']);
    const stranger = await rawRequest(`${gateway.url}/`, withCertificate(fixtures.stranger, [['Authorization', `Bearer ${key}`]]));
    assert.equal(problemCode(stranger), 'client_certificate_required', 'an unverified certificate counts as none');
    assert.equal((await rawRequest(`${gateway.url}/`, withCertificate(fixtures.clientA, [['Authorization', `Bearer ${key}`]]))).status, 200);
  });

  itNeeding(requireTools('openssl'), 'a key bound to certificate A works only on a connection presenting A (keys create --cert)', async () => {
    const { gateway, storePath } = await tlsGateway('bound', { PORTCULLIS_TLS_CLIENT_AUTH: 'optional' });
    const created = await runCli(['keys', 'create', '--store', storePath, '--name', 'client-a', '--cert', fixtures.clientA.certPath, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const bound = JSON.parse(created.stdout) as { id: string; key: string; certFingerprint: string };
    const openssl = await runTool('openssl', ['x509', '-in', fixtures.clientA.certPath, '-noout', '-fingerprint', '-sha256']);
    assert.equal(bound.certFingerprint, openssl.stdout.trim().split('=')[1]!.replaceAll(':', '').toLowerCase(), 'the stored fingerprint is the one openssl computes');

    const bearer: Array<[string, string]> = [['Authorization', `Bearer ${bound.key}`]];
    const withA = await rawRequest(`${gateway.url}/a`, withCertificate(fixtures.clientA, bearer));
    assert.equal(withA.status, 200);
    assert.equal(upstream.requests.at(-1)!.headers['x-portcullis-key-id'], bound.id);
    for (const other of [fixtures.clientB, fixtures.stranger, null]) {
      const refused = await rawRequest(`${gateway.url}/a`, withCertificate(other, bearer));
      assert.equal(refused.status, 401);
      assert.equal(problemCode(refused), 'key_certificate_mismatch');
      assert.match(String(refused.headers['www-authenticate']), /error="invalid_token"/);
    }
    // --cert-fingerprint takes the colon form that openssl prints.
    const byFingerprint = await runCli(['keys', 'create', '--store', storePath, '--name', 'client-b', '--cert-fingerprint', fixtures.clientB.fingerprint.toUpperCase().replace(/(..)(?!$)/g, '$1:'), '--json']);
    assert.equal(byFingerprint.code, 0, byFingerprint.stderr);
    const keyB = (JSON.parse(byFingerprint.stdout) as { key: string }).key;
    assert.equal((await rawRequest(`${gateway.url}/b`, withCertificate(fixtures.clientB, [['Authorization', `Bearer ${keyB}`]]))).status, 200);
    assert.equal((await rawRequest(`${gateway.url}/b`, withCertificate(fixtures.clientA, [['Authorization', `Bearer ${keyB}`]]))).status, 401);
  });

  it('a bound key is refused on a gateway without TLS client certificates at all (fails closed)', async () => {
    const storePath = join(directory.path, 'plain.db');
    const gateway = await startTestGateway(upstream.url, storePath);
    gateways.push(gateway);
    const { key } = await createKeyInStore(storePath, { certFingerprint: fixtures.clientA.fingerprint });
    const refused = await rawRequest(`${gateway.url}/`, { headers: [['Authorization', `Bearer ${key}`]] });
    assert.equal(problemCode(refused), 'key_certificate_mismatch');
  });

  it('a certificate alone identifies its client when tls.certificateIdentity is on; revoking the key revokes it', async () => {
    const { gateway, storePath } = await tlsGateway('identity', { PORTCULLIS_TLS_CLIENT_AUTH: 'optional', PORTCULLIS_TLS_CERTIFICATE_IDENTITY: 'true' });
    const { id } = await createKeyInStore(storePath, { name: 'device-a', certFingerprint: fixtures.clientA.fingerprint });
    const asA = await rawRequest(`${gateway.url}/me`, withCertificate(fixtures.clientA));
    assert.equal(asA.status, 200);
    assert.equal(upstream.requests.at(-1)!.headers['x-portcullis-key-id'], id);
    assert.equal(upstream.requests.at(-1)!.headers['x-portcullis-key-name'], 'device-a');
    const unbound = await rawRequest(`${gateway.url}/me`, withCertificate(fixtures.clientB));
    assert.equal(problemCode(unbound), 'key_missing', 'a certificate no key is bound to identifies no one');
    assert.equal(problemCode(await rawRequest(`${gateway.url}/me`, withCertificate(null))), 'key_missing');
    assert.equal(problemCode(await rawRequest(`${gateway.url}/me`, withCertificate(fixtures.stranger))), 'key_missing', 'an unverified certificate identifies no one');

    const revoked = await runCli(['keys', 'revoke', id, '--store', storePath]);
    assert.equal(revoked.code, 0, revoked.stderr);
    await eventually(async () => (await rawRequest(`${gateway.url}/me`, withCertificate(fixtures.clientA))).status === 401, 5000, 'the revocation');
    assert.equal(problemCode(await rawRequest(`${gateway.url}/me`, withCertificate(fixtures.clientA))), 'key_revoked');
  });
});
