import { X509Certificate } from 'node:crypto';
import { InvalidCidrError, parseCidr } from '../http/cidr.ts';
import { normaliseFingerprint } from '../http/peer-certificate.ts';
import { API_NAME_SYNTAX, isApiName } from '../keys/key-apis.ts';
import { parseSigningKey, SIGNING_KEY_EXPECTED } from '../keys/signing-key.ts';
import { compileQuotaText, compileRateText } from '../limits/rate-policy.ts';
import { isValidKeyScope, SCOPE_SYNTAX } from './scopes.ts';

/**
 * What a person types for a key's settings, checked the same way wherever it is typed: the
 * CLI's flags (src/cli/key-settings-flags.ts) and the admin API the dashboard calls
 * (src/admin/key-settings-body.ts). Each check returns the canonical value, or a problem that
 * says what was expected. A problem never quotes the input (the admin API's problem details
 * must not echo it; the CLI adds `found "…"` itself); a suggestion rebuilt from parsed
 * numbers, such as the network a CIDR with host bits set meant, is not an echo.
 *
 * It lives here, in `routes/`, because that is the lowest layer that sees every setting's
 * parser: CIDRs and fingerprints (`http/`), rates and quotas (`limits/`), scopes (`routes/`).
 */

export type SettingCheck<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): SettingCheck<T> => ({ ok: true, value });
const refused = (problem: string): SettingCheck<never> => ({ ok: false, problem });

const RATE_EXPECTED = 'expected a rate such as 100/s, 6000/m or "100/s burst 200"';
const QUOTA_EXPECTED = 'expected a quota such as 10000/day or 300000/month';
const SCOPE_EXPECTED = `expected ${SCOPE_SYNTAX}, optionally ending in :* (or * alone)`;
const FINGERPRINT_EXPECTED = 'expected a SHA-256 fingerprint (64 hex digits, colons allowed, as printed by portcullis certs fingerprint FILE)';

/** `100/s burst 200` → its canonical text. */
export function checkRate(text: string): SettingCheck<string> {
  const rate = compileRateText(text);
  return rate === null ? refused(RATE_EXPECTED) : ok(rate.text);
}

/** `10000/day` → its canonical text. */
export function checkQuota(text: string): SettingCheck<string> {
  const quota = compileQuotaText(text);
  return quota === null ? refused(QUOTA_EXPECTED) : ok(quota.text);
}

/** One scope a key may carry (`orders:read`, `orders:*`, `*`). */
export function checkScope(scope: string): SettingCheck<string> {
  return isValidKeyScope(scope) ? ok(scope) : refused(SCOPE_EXPECTED);
}

/** The name of an API a key belongs to (`apis[].name` in the config; `default` without `apis`). */
export function checkApiName(name: string): SettingCheck<string> {
  return isApiName(name) ? ok(name) : refused(`expected an API name: ${API_NAME_SYNTAX}`);
}

/** Hex with or without colons → 64 lower-case hex digits. */
export function checkCertFingerprint(text: string): SettingCheck<string> {
  const fingerprint = normaliseFingerprint(text);
  return fingerprint === null ? refused(FINGERPRINT_EXPECTED) : ok(fingerprint);
}

/** A PEM certificate → the SHA-256 of its DER form, as a TLS connection reports it (fingerprint256). */
export function checkCertificatePem(pem: string): SettingCheck<string> {
  try {
    return ok(normaliseFingerprint(new X509Certificate(pem).fingerprint256) as string);
  } catch {
    return refused('expected a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)');
  }
}

/** A PEM public key for signed requests (RFC 9421) → its canonical SPKI PEM (keys/signing-key.ts says which keys). */
export function checkSigningKeyPem(pem: string): SettingCheck<string> {
  const key = parseSigningKey(pem);
  return key === null ? refused(SIGNING_KEY_EXPECTED) : ok(key.pem);
}

/**
 * One allowed network, as the gateway compiles it (`parseCidr`): `10.0.0.0/8`, `2001:db8::/32`
 * or a bare address. Host bits set get the CIDR compiler's did-you-mean (`10.0.0.1/8` → did you
 * mean 10.0.0.0/8?).
 */
export function checkCidr(text: string): SettingCheck<string> {
  try {
    parseCidr(text);
    return ok(text);
  } catch (error) {
    if (!(error instanceof InvalidCidrError)) throw error;
    const reason = error.message.slice(`Invalid CIDR ${JSON.stringify(text.slice(0, 60))}: `.length);
    // The compiler's reason quotes the address part when it is not an address at all.
    if (reason.startsWith('"') || !error.message.startsWith('Invalid CIDR ')) return refused('expected an IPv4 or IPv6 address with an optional prefix length, such as 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32');
    return refused(reason);
  }
}

/** Each entry of a list checked, duplicates dropped; the problem names the entry (1-based). */
export function checkEach(values: readonly string[], check: (value: string) => SettingCheck<string>): SettingCheck<string[]> {
  const checked: string[] = [];
  for (const [index, value] of values.entries()) {
    const result = check(value.trim());
    if (!result.ok) return refused(values.length === 1 ? result.problem : `entry ${index + 1}: ${result.problem}`);
    if (!checked.includes(result.value)) checked.push(result.value);
  }
  return ok(checked);
}
