import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts, type FakeRequest } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { createClientCertificateCheck } from './client-certificate-check.ts';
import { clientCertificate } from './index.ts';

const FINGERPRINT = Array.from({ length: 32 }, (_, index) => (index * 7 + 16).toString(16).toUpperCase().padStart(2, '0')).join(':');

const cases: Array<{ name: string; request: FakeRequest; passes: boolean }> = [
  { name: 'a plain HTTP connection', request: {}, passes: false },
  { name: 'TLS without a client certificate', request: { tls: { authorized: false, fingerprint256: null } }, passes: false },
  { name: 'TLS with a certificate the CA did not sign', request: { tls: { authorized: false, fingerprint256: FINGERPRINT } }, passes: false },
  { name: 'TLS with a verified client certificate', request: { tls: { authorized: true, fingerprint256: FINGERPRINT } }, passes: true },
];

describe('client-certificate check', () => {
  const check = createClientCertificateCheck();
  for (const { name, request, passes } of cases) {
    it(`${passes ? 'passes' : 'refuses with 401'}: ${name}`, () => {
      const outcome = check.run(fakeContext(request)) as Denial | null;
      if (passes) return assert.equal(outcome, null);
      assert.equal(outcome?.code, 'client_certificate_required');
      assert.equal(outcome?.status, 401);
      assert.deepEqual(outcome?.headers, [['www-authenticate', 'Bearer realm="portcullis"']]);
    });
  }
});

describe('client-certificate policy', () => {
  const cases: Array<{ name: string; tls: { clientCa: string | null; clientAuth: 'handshake' | 'request' | 'optional' } | null; on: boolean }> = [
    { name: 'no TLS on the listener', tls: null, on: false },
    { name: 'TLS without a client CA', tls: { clientCa: null, clientAuth: 'request' }, on: false },
    { name: 'clientAuth: handshake (refused in the handshake instead)', tls: { clientCa: '/etc/ca.pem', clientAuth: 'handshake' }, on: false },
    { name: 'clientAuth: optional', tls: { clientCa: '/etc/ca.pem', clientAuth: 'optional' }, on: false },
    { name: 'clientAuth: request', tls: { clientCa: '/etc/ca.pem', clientAuth: 'request' }, on: true },
  ];
  for (const { name, tls, on } of cases) {
    it(`is ${on ? 'on' : 'off'} with ${name}`, () => {
      const check = clientCertificate.create({ tls }, fakeParts());
      assert.equal(check?.name, on ? 'client-certificate' : undefined);
    });
  }
});
