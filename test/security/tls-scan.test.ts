import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { runTool } from '../support/tools.ts';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.ts';
import { describeNeeding, requireTools } from '../support/required-service.ts';
import { DEFAULT_TLS_CIPHERS } from '../../src/engine/listener-config.ts';

interface ScanReport {
  protocols: Map<string, 'enabled' | 'disabled'>;
  ciphers: Array<{ protocol: string; bits: number; name: string }>;
  text: string;
}

/** Runs sslscan (Debian package `sslscan`) against 127.0.0.1:port and parses what it found. */
async function sslscan(port: number): Promise<ScanReport> {
  const result = await runTool('sslscan', ['--no-colour', '--no-heartbleed', `127.0.0.1:${port}`], 60_000);
  assert.equal(result.code, 0, result.stderr);
  const protocols = new Map<string, 'enabled' | 'disabled'>();
  for (const match of result.stdout.matchAll(/^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)$/gm)) protocols.set(match[1]!, match[2] as 'enabled' | 'disabled');
  const ciphers = [...result.stdout.matchAll(/^(?:Preferred|Accepted)\s+(\S+)\s+(\d+) bits\s+(\S+)/gm)].map((match) => ({ protocol: match[1]!, bits: Number(match[2]), name: match[3]! }));
  return { protocols, ciphers, text: result.stdout };
}

const WEAK = /NULL|EXP|RC4|DES|MD5|CBC|anon|PSK|SRP|CAMELLIA|ARIA|SEED|IDEA|SHA$/;

describeNeeding(requireTools('sslscan'), 'sslscan against the TLS listener', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let gateway: TestGateway;
  let strict: TestGateway;

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    const env = { PORTCULLIS_TLS_CERT: fixtures.server.certPath, PORTCULLIS_TLS_KEY: fixtures.server.keyPath };
    gateway = await startTestGateway('http://127.0.0.1:9', join(directory.path, 'a.db'), { env });
    strict = await startTestGateway('http://127.0.0.1:9', join(directory.path, 'b.db'), { env: { ...env, PORTCULLIS_TLS_MIN_VERSION: 'TLSv1.3' } });
  });
  after(async () => {
    await gateway.stop();
    await strict.stop();
    directory.remove();
  });

  it('detects legacy protocols and ciphers where they exist (control: a server that allows them)', async () => {
    const legacy = createTlsServer({ cert: fixtures.server.cert, key: fixtures.server.key, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (socket) => socket.end());
    legacy.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => legacy.listen(0, '127.0.0.1', resolve));
    try {
      const report = await sslscan((legacy.address() as AddressInfo).port);
      assert.equal(report.protocols.get('TLSv1.0'), 'enabled', report.text);
      assert.ok(report.ciphers.some((cipher) => WEAK.test(cipher.name)), 'the control offers CBC ciphers');
    } finally {
      legacy.close();
    }
  });

  it('reports no SSLv2/SSLv3/TLS 1.0/TLS 1.1 and only strong, forward-secret AEAD ciphers', async (t) => {
    const report = await sslscan(Number(new URL(gateway.url).port));
    t.diagnostic(report.text.split('\n').filter((line) => /^(SSLv|TLSv|Preferred|Accepted)/.test(line)).join('\n'));
    for (const legacy of ['SSLv2', 'SSLv3', 'TLSv1.0', 'TLSv1.1']) assert.equal(report.protocols.get(legacy), 'disabled', `${legacy}\n${report.text}`);
    assert.equal(report.protocols.get('TLSv1.2'), 'enabled');
    assert.equal(report.protocols.get('TLSv1.3'), 'enabled');
    assert.ok(report.ciphers.length > 0, report.text);
    const allowed = new Set(DEFAULT_TLS_CIPHERS.split(':'));
    for (const cipher of report.ciphers) {
      assert.ok(allowed.has(cipher.name), `unexpected cipher ${cipher.name}`);
      assert.doesNotMatch(cipher.name, WEAK);
      assert.ok(cipher.bits >= 128, `${cipher.name} has ${cipher.bits} bits`);
      if (cipher.protocol === 'TLSv1.2') assert.match(cipher.name, /^ECDHE-/, 'TLS 1.2 ciphers have forward secrecy');
    }
  });

  it('with tls.minVersion TLSv1.3, offers TLS 1.3 only', async () => {
    const report = await sslscan(Number(new URL(strict.url).port));
    assert.equal(report.protocols.get('TLSv1.2'), 'disabled', report.text);
    assert.equal(report.protocols.get('TLSv1.3'), 'enabled');
    assert.ok(report.ciphers.every((cipher) => cipher.protocol === 'TLSv1.3'));
  });
});
