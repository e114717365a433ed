import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { describeNeeding, requireTools } from '../support/required-service.ts';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.ts';


interface SessionOutcome {
  /** Everything openssl printed, stdout and stderr together. */
  output: string;
  /** Whether an HTTP response came back for the request sent after the handshake (and after `R`). */
  answered: boolean;
}

/**
 * Opens a TLS 1.2 connection with `openssl s_client`, optionally sends `R` (its interactive
 * command: renegotiate) once the handshake is done, then sends one HTTP request and watches
 * for an answer. stdin stays open throughout: s_client closes the connection at stdin's end.
 */
async function tls12Session(port: number, ca: string, { renegotiate, path = '/hello', headers = [] }: { renegotiate: boolean; path?: string; headers?: string[] }): Promise<SessionOutcome> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-CAfile', ca, '-verify_return_error'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  // openssl may end the connection (and exit) while a line is on its way to it.
  child.stdin.on('error', () => {});
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const seen = (pattern: RegExp, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (pattern.test(output)) finish(true);
      };
      function finish(found: boolean) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve(found);
      }
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void closed.then(() => finish(pattern.test(output)));
    });
  try {
    assert.ok(await seen(/Verify return code: 0 \(ok\)[\s\S]*?\n---\n/, 10_000), `the TLS 1.2 handshake completes\n${output}`);
    if (renegotiate) {
      child.stdin.write('R\n');
      // Either a second handshake (its certificate chain is printed again) or the connection ends.
      await seen(/RENEGOTIATING[\s\S]*(?:verify return:1|error|alert)/, 5000);
    }
    if (child.exitCode === null && child.stdin.writable) {
      child.stdin.write([`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers, 'Connection: close', '', ''].join('\r\n'));
    }
    const answered = await seen(/HTTP\/1\.1 \d{3}/, 5000);
    return { output, answered };
  } finally {
    child.stdin.end();
    child.kill();
    await closed;
  }
}

describeNeeding(requireTools('openssl'), 'TLS renegotiation, with a real client (openssl s_client)', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let key: string;

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startRecordingUpstream();
    const storePath = join(directory.path, 'keys.db');
    ({ key } = await createKeyInStore(storePath));
    gateway = await startTestGateway(upstream.url, storePath, {
      env: {
        PORTCULLIS_TLS_CERT: fixtures.server.certPath,
        PORTCULLIS_TLS_KEY: fixtures.server.keyPath,
        PORTCULLIS_ADMIN_TLS_CERT: fixtures.server.certPath,
        PORTCULLIS_ADMIN_TLS_KEY: fixtures.server.keyPath,
        // A connection refused mid-stream is reaped by the server's timeouts, which stop once
        // the listener drains: do not wait the default 30 s for it when the test ends.
        PORTCULLIS_SERVER_DRAIN_TIMEOUT: '1s',
      },
    });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('control: the same client renegotiates with a Node.js TLS server left at its defaults', async () => {
    const server = createHttpsServer({ cert: fixtures.server.cert, key: fixtures.server.key }, (_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const outcome = await tls12Session((server.address() as AddressInfo).port, fixtures.ca.certPath, { renegotiate: true });
      assert.match(outcome.output, /RENEGOTIATING/);
      assert.ok(outcome.answered, `the request after the renegotiation is answered\n${outcome.output}`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('the public listener serves a plain TLS 1.2 request', async () => {
    const outcome = await tls12Session(gateway.gateway.address.port, fixtures.ca.certPath, { renegotiate: false, headers: [`Authorization: Bearer ${key}`] });
    assert.match(outcome.output, /HTTP\/1\.1 200 OK/);
  });

  it('the public listener refuses a client-initiated renegotiation and ends the connection', async () => {
    const outcome = await tls12Session(gateway.gateway.address.port, fixtures.ca.certPath, { renegotiate: true, headers: [`Authorization: Bearer ${key}`] });
    assert.match(outcome.output, /RENEGOTIATING[\s\S]*(?:no renegotiation|alert)/);
    assert.equal(outcome.answered, false, `nothing is served on that connection\n${outcome.output}`);
  });

  it('the admin listener (admin.tls) serves a plain TLS 1.2 request and refuses a renegotiation', async () => {
    const port = gateway.gateway.admin!.address.port;
    const plain = await tls12Session(port, fixtures.ca.certPath, { renegotiate: false, path: '/api/health' });
    assert.match(plain.output, /HTTP\/1\.1 200 OK/);
    const renegotiated = await tls12Session(port, fixtures.ca.certPath, { renegotiate: true, path: '/api/health' });
    assert.match(renegotiated.output, /RENEGOTIATING[\s\S]*(?:no renegotiation|alert)/);
    assert.equal(renegotiated.answered, false, renegotiated.output);
  });
});
