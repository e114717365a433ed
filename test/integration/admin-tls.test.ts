import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { createAdminToken } from '../support/admin-client.ts';
import { describeNeeding, requireTools } from '../support/required-service.ts';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(directory: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
  writeFileSync(join(directory, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(directory, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const name of ['server', 'client']) {
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
}

// Skipped without openssl, except in CI (CI=1), where it must fail the run.
describeNeeding(requireTools('openssl'), 'admin listener over TLS with client certificates (mTLS)', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let token: string;
  let url: string;

  before(async () => {
    makeCertificates(directory.path);
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'), {
      env: {
        PORTCULLIS_ADMIN_TLS_CERT: join(directory.path, 'server.pem'),
        PORTCULLIS_ADMIN_TLS_KEY: join(directory.path, 'server.key'),
        PORTCULLIS_ADMIN_TLS_CLIENT_CA: join(directory.path, 'ca.pem'),
      },
    });
    url = gateway.gateway.admin!.url;
    token = (await createAdminToken(gateway.gateway.store, 'read')).token;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  const file = (name: string) => readFileSync(join(directory.path, name));

  it('serves https, and answers a client with a certificate from the CA and a token', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key') } });
    try {
      const response = await request(`${url}/api/keys`, { dispatcher, headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.statusCode, 200);
      await response.body.dump();
      const anonymous = await request(`${url}/api/keys`, { dispatcher });
      assert.equal(anonymous.statusCode, 401, 'a certificate alone is not enough: a token is still needed');
      await anonymous.body.dump();
    } finally {
      await dispatcher.close();
    }
  });

  it('refuses the TLS handshake of a client without a certificate', async () => {
    const dispatcher = new Agent({ connect: { ca: file('ca.pem') } });
    try {
      await assert.rejects(request(`${url}/api/health`, { dispatcher }).then((response) => response.body.text()));
    } finally {
      await dispatcher.close();
    }
  });
});
