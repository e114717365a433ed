import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, spawnGateway, temporaryDirectory } from '../support/processes.ts';
import { rawRequest } from '../support/raw-client.ts';
import { eventually, runTool } from '../support/tools.ts';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.ts';
import { itNeeding, requireTools } from '../support/required-service.ts';
import { issueServerCertificate } from '../../src/certs/dev-certificates.ts';

/** Replaces the certificate and key files the way deploy tools do: write aside, then rename over. */
function replaceFiles(certPath: string, keyPath: string, cert: string, key: string): void {
  writeFileSync(`${keyPath}.new`, key, { mode: 0o600 });
  writeFileSync(`${certPath}.new`, cert);
  renameSync(`${keyPath}.new`, keyPath);
  renameSync(`${certPath}.new`, certPath);
}

describe('TLS on the public listener, with real clients (curl, openssl)', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let key: string;
  let port: string;

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startRecordingUpstream();
    const storePath = join(directory.path, 'keys.db');
    ({ key } = await createKeyInStore(storePath));
    gateway = await startTestGateway(upstream.url, storePath, {
      env: { PORTCULLIS_TLS_CERT: fixtures.server.certPath, PORTCULLIS_TLS_KEY: fixtures.server.keyPath, PORTCULLIS_TLS_REDIRECT_LISTEN: '127.0.0.1:0' },
    });
    port = new URL(gateway.url).port;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  for (const [version, flags] of [['1.2', ['--tlsv1.2', '--tls-max', '1.2']], ['1.3', ['--tlsv1.3']]] as const) {
    itNeeding(requireTools('curl'), `curl connects with TLS ${version}, verifies the certificate, and gets HSTS`, async () => {
      const result = await runTool('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-w', '%{http_code} %{ssl_verify_result}', '--cacert', fixtures.ca.certPath, ...flags, '-H', `Authorization: Bearer ${key}`, `https://127.0.0.1:${port}/hello`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /200 0$/);
      assert.match(result.stdout, /strict-transport-security: max-age=31536000/i);
      assert.equal(upstream.requests.at(-1)!.headers['x-forwarded-proto'], 'https');
    });
  }

  for (const [flag, version] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']] as const) {
    itNeeding(requireTools('openssl'), `openssl s_client completes a verified ${version} handshake`, async () => {
      const result = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, flag, '-CAfile', fixtures.ca.certPath, '-verify_return_error', '-brief']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`Protocol version: ${version.replace('.', '\\.')}`));
      assert.match(result.stderr, /Verification: OK/);
    });
  }

  itNeeding(requireTools('openssl'), 'refuses TLS 1.0 and 1.1, which the same openssl client can speak (checked against a server that allows them)', async () => {
    const legacy = createTlsServer({ cert: fixtures.server.cert, key: fixtures.server.key, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (socket) => socket.end());
    legacy.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => legacy.listen(0, '127.0.0.1', resolve));
    const legacyPort = (legacy.address() as AddressInfo).port;
    try {
      for (const [flag, version] of [['-tls1', 'TLSv1'], ['-tls1_1', 'TLSv1.1']] as const) {
        const args = ['s_client', flag, '-cipher', 'DEFAULT@SECLEVEL=0', '-brief'];
        const control = await runTool('openssl', [...args, '-connect', `127.0.0.1:${legacyPort}`]);
        assert.match(control.stderr, new RegExp(`Protocol version: ${version.replace('.', '\\.')}\\b`), `control: this openssl can speak ${version}\n${control.stderr}`);
        const refused = await runTool('openssl', [...args, '-connect', `127.0.0.1:${port}`]);
        assert.notEqual(refused.code, 0, `${version} must be refused`);
        assert.doesNotMatch(refused.stderr, /Protocol version/);
      }
    } finally {
      legacy.close();
    }
  });

  it('does not speak plain HTTP on the TLS port, and the redirect listener only redirects (without HSTS)', async () => {
    await assert.rejects(rawRequest(`http://127.0.0.1:${port}/hello`, { headers: [['Authorization', `Bearer ${key}`]] }));
    const redirect = gateway.gateway.redirectAddress!;
    const answer = await rawRequest(`http://127.0.0.1:${redirect.port}/orders?id=7`, { headers: [['Host', 'localhost:9999'], ['Authorization', `Bearer ${key}`]] });
    assert.equal(answer.status, 308);
    assert.equal(answer.headers.location, `https://localhost:${port}/orders?id=7`);
    assert.equal(answer.headers['strict-transport-security'], undefined);
    const noHost = await rawRequest(`http://127.0.0.1:${redirect.port}/`, { headers: [['Host', 'evil.example/x']] });
    assert.equal(noHost.status, 400);
  });

  it('serves a certificate rotated on disk to the next connection, while an open keep-alive connection continues', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: fixtures.ca.cert });
    try {
      const first = await rawRequest(`${gateway.url}/a`, { agent, headers: [['Authorization', `Bearer ${key}`]] });
      assert.equal(first.status, 200);
      assert.equal(first.serverFingerprint, fixtures.server.fingerprint);
      const rotated = await issueServerCertificate(fixtures.ca, ['127.0.0.1', 'localhost']);
      replaceFiles(fixtures.server.certPath, fixtures.server.keyPath, rotated.cert, rotated.key);
      await eventually(async () => (await rawRequest(`${gateway.url}/b`, { ca: fixtures.ca.cert, headers: [['Authorization', `Bearer ${key}`]] })).serverFingerprint === rotated.fingerprint, 5000, 'the rotated certificate');
      const again = await rawRequest(`${gateway.url}/c`, { agent, headers: [['Authorization', `Bearer ${key}`]] });
      assert.equal(again.status, 200);
      assert.equal(again.localPort, first.localPort, 'the same keep-alive connection');
      assert.equal(again.serverFingerprint, fixtures.server.fingerprint, 'it keeps the certificate it was opened with');
    } finally {
      agent.destroy();
    }
  });

  it('keeps serving the current certificate when a rotated file does not load', async () => {
    const before = await rawRequest(`${gateway.url}/d`, { ca: fixtures.ca.cert, headers: [['Authorization', `Bearer ${key}`]] });
    writeFileSync(fixtures.server.keyPath, 'not a key');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await rawRequest(`${gateway.url}/e`, { ca: fixtures.ca.cert, headers: [['Authorization', `Bearer ${key}`]] });
    assert.equal(after.status, 200);
    assert.equal(after.serverFingerprint, before.serverFingerprint);
  });
});

describe('TLS certificate reload on SIGHUP (serve process, file watching off)', () => {
  it('serves the new certificate after SIGHUP; open connections keep working', async () => {
    const directory = temporaryDirectory();
    const upstream = await startRecordingUpstream();
    try {
      const fixtures = await makeTlsFixtures(directory.path);
      const store = join(directory.path, 'keys.db');
      const { key } = await createKeyInStore(store);
      const gateway = await spawnGateway(['--upstream', upstream.url, '--store', store, '--tls-cert', fixtures.server.certPath, '--tls-key', fixtures.server.keyPath], { env: { PORTCULLIS_TLS_WATCH: 'false' } });
      const url = gateway.url.replace('http://', 'https://');
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: fixtures.ca.cert });
      try {
        const first = await rawRequest(`${url}/a`, { agent, headers: [['Authorization', `Bearer ${key}`]] });
        assert.equal(first.serverFingerprint, fixtures.server.fingerprint);
        const rotated = await issueServerCertificate(fixtures.ca, ['127.0.0.1']);
        replaceFiles(fixtures.server.certPath, fixtures.server.keyPath, rotated.cert, rotated.key);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal((await rawRequest(`${url}/b`, { ca: fixtures.ca.cert })).serverFingerprint, fixtures.server.fingerprint, 'no reload without SIGHUP when watching is off');
        gateway.child.kill('SIGHUP');
        await eventually(async () => (await rawRequest(`${url}/c`, { ca: fixtures.ca.cert })).serverFingerprint === rotated.fingerprint, 5000, 'the certificate after SIGHUP');
        const again = await rawRequest(`${url}/d`, { agent, headers: [['Authorization', `Bearer ${key}`]] });
        assert.equal(again.status, 200);
        assert.equal(again.localPort, first.localPort);
        assert.match(gateway.stdout(), /SIGHUP: TLS certificate reloaded/);
      } finally {
        agent.destroy();
        assert.equal(await gateway.stop(), 0);
      }
    } finally {
      await upstream.close();
      directory.remove();
    }
  });

  it('refuses to start with a missing or mismatched TLS file, naming the option (exit 2)', async () => {
    const directory = temporaryDirectory();
    try {
      const fixtures = await makeTlsFixtures(directory.path);
      const base = ['serve', '--listen', '127.0.0.1:0', '--store', join(directory.path, 'k.db'), '--upstream', 'http://127.0.0.1:9'];
      const missing = await runCli([...base, '--tls-cert', join(directory.path, 'nope.crt'), '--tls-key', fixtures.server.keyPath]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /tls\.cert: cannot read .*nope\.crt \(ENOENT\)/);
      const mismatched = await runCli([...base, '--tls-cert', fixtures.server.certPath, '--tls-key', fixtures.clientA.keyPath]);
      assert.equal(mismatched.code, 2);
      assert.match(mismatched.stderr, /tls\.cert \/ tls\.key/);
      const half = await runCli([...base, '--tls-cert', fixtures.server.certPath]);
      assert.equal(half.code, 2);
      assert.match(half.stderr, /tls\.key: expected a file together with tls\.cert/);
    } finally {
      directory.remove();
    }
  });
});
