import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, spawnGateway, temporaryDirectory } from '../support/processes.ts';
import { problemCode, rawRequest } from '../support/raw-client.ts';
import { makeTlsFixtures, writeCertificate, type CertificateFiles, type TlsFixtures } from '../support/tls-fixtures.ts';
import { issueServerCertificate } from '../../src/certs/dev-certificates.ts';

interface TlsUpstream {
  url: string;
  /** Subject CN of the client certificate each request came with, or null. */
  clientNames: Array<string | null>;
  close(): Promise<void>;
}

async function startTlsUpstream(certificate: CertificateFiles, clientCa?: string): Promise<TlsUpstream> {
  const clientNames: Array<string | null> = [];
  const server: Server = createServer({ cert: certificate.cert, key: certificate.key, ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const commonName = peer?.subject?.CN;
    clientNames.push(typeof commonName === 'string' ? commonName : null);
    req.resume();
    res.end(JSON.stringify({ tls: true }));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clientNames,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('TLS from the gateway to the upstream', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: TlsUpstream;
  let wrongName: TlsUpstream;
  let mutual: TlsUpstream;
  const gateways: TestGateway[] = [];

  async function call(upstreamUrl: string, env: Record<string, string>) {
    const storePath = join(directory.path, `g${gateways.length}.db`);
    const { key } = await createKeyInStore(storePath);
    const gateway = await startTestGateway(upstreamUrl, storePath, { env });
    gateways.push(gateway);
    return rawRequest(`${gateway.url}/data`, { headers: [['Authorization', `Bearer ${key}`]] });
  }

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startTlsUpstream(fixtures.server);
    wrongName = await startTlsUpstream(writeCertificate(directory.path, 'wrong-name', await issueServerCertificate(fixtures.ca, ['api.internal.example'])));
    mutual = await startTlsUpstream(fixtures.server, fixtures.ca.cert);
  });
  after(async () => {
    for (const gateway of gateways) await gateway.stop();
    await Promise.all([upstream.close(), wrongName.close(), mutual.close()]);
    directory.remove();
  });

  it('reaches an https upstream whose certificate a private CA signed, when given that CA', async () => {
    const response = await call(upstream.url, { PORTCULLIS_UPSTREAM_TLS_CA: fixtures.ca.certPath });
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), { tls: true });
  });

  it('refuses an upstream certificate the trusted CAs did not sign (the system CAs by default): 502', async () => {
    const response = await call(upstream.url, {});
    assert.equal(response.status, 502);
    assert.equal(problemCode(response), 'upstream_unavailable');
  });

  it('refuses an upstream whose certificate names another host, even from the right CA: 502', async () => {
    const response = await call(wrongName.url, { PORTCULLIS_UPSTREAM_TLS_CA: fixtures.ca.certPath });
    assert.equal(response.status, 502);
    assert.equal(problemCode(response), 'upstream_unavailable');
    // Naming the host the certificate was issued for (upstream.tls.servername) is the right fix.
    const named = await call(wrongName.url, { PORTCULLIS_UPSTREAM_TLS_CA: fixtures.ca.certPath, PORTCULLIS_UPSTREAM_TLS_SERVERNAME: 'api.internal.example' });
    assert.equal(named.status, 200);
  });

  it('presents a client certificate to an upstream that requires mutual TLS', async () => {
    const without = await call(mutual.url, { PORTCULLIS_UPSTREAM_TLS_CA: fixtures.ca.certPath });
    assert.equal(without.status, 502);
    const withCertificate = await call(mutual.url, { PORTCULLIS_UPSTREAM_TLS_CA: fixtures.ca.certPath, PORTCULLIS_UPSTREAM_TLS_CERT: fixtures.clientA.certPath, PORTCULLIS_UPSTREAM_TLS_KEY: fixtures.clientA.keyPath });
    assert.equal(withCertificate.status, 200);
    assert.equal(mutual.clientNames.at(-1), 'client-a');
  });

  it('skips verification only when explicitly told to, and says so loudly at start', async () => {
    const storePath = join(directory.path, 'insecure.db');
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--store', storePath, '--upstream', wrongName.url, '--upstream-ca', join(directory.path, 'missing-ca.crt')], { env: { PORTCULLIS_LOG_LEVEL: 'silent' } });
    assert.equal(result.code, 2, 'a missing upstream CA file stops the start');
    assert.match(result.stderr, /upstream\.tls\.ca: cannot read/);
    const { key } = await createKeyInStore(storePath);
    const gateway = await spawnGateway(['--upstream', wrongName.url, '--store', storePath], { env: { PORTCULLIS_UPSTREAM_TLS_INSECURE_SKIP_VERIFY: 'true' } });
    try {
      const insecure = await rawRequest(`${gateway.url}/data`, { headers: [['Authorization', `Bearer ${key}`]] });
      assert.equal(insecure.status, 200);
      assert.match(gateway.stdout(), /"level":50.*INSECURE: upstream\.tls\.insecureSkipVerify is set/);
    } finally {
      await gateway.stop();
    }
  });

  it('refuses upstream TLS settings for an http:// upstream (exit 2)', async () => {
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--store', join(directory.path, 'x.db'), '--upstream', 'http://127.0.0.1:9', '--upstream-ca', fixtures.ca.certPath]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /upstream\.tls: TLS settings for the upstream need an https:\/\/ upstream\.url/);
  });
});
