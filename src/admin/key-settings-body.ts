import type { ProblemError } from '../http/error-catalogue.ts';
import { parseDuration } from '../http/units.ts';
import type { KeySettings, LeakAction } from '../keys/key-record.ts';
import { checkApiName, checkCertFingerprint, checkCertificatePem, checkCidr, checkEach, checkQuota, checkRate, checkScope, checkSigningKeyPem, type SettingCheck } from '../routes/key-setting-checks.ts';
import type { KeySettingsUpdate } from '../store/key-store.ts';
import { AdminProblem } from './admin-problems.ts';

/**
 * The key settings of a create or update body, checked as the CLI checks its flags (the same
 * functions, src/routes/key-setting-checks.ts). The OpenAPI schema has already checked types
 * and sizes; these are the checks a schema cannot express. Every refused field is reported at
 * once, each with a JSON pointer (`/body/allowedCidrs`), so the dashboard shows each message
 * beside its field.
 */

export interface KeySettingsBody {
  name?: string;
  tags?: string[];
  scopes?: string[];
  /** The APIs of the gateway the key may be used on, as with `keys create --api`; empty: every API. */
  apis?: string[];
  allowedCidrs?: string[];
  rateLimit?: string | null;
  quota?: string | null;
  certFingerprint?: string | null;
  /** A PEM client certificate: its SHA-256 fingerprint is stored, as with `keys create --cert`. */
  certificate?: string;
  /** A PEM public key for signed requests (RFC 9421), as with `keys create --signing-key`; null unbinds. */
  signingKey?: string | null;
  /** The key's own leak and anomaly action (the schema allows only `LEAK_ACTIONS`); null: inherit. */
  leakAction?: LeakAction | null;
  metadata?: Record<string, unknown>;
  expiresIn?: string;
  expiresAt?: string | null;
}

class FieldChecks {
  readonly errors: ProblemError[] = [];

  take<T>(field: string, result: SettingCheck<T>): T | undefined {
    if (result.ok) return result.value;
    this.errors.push({ pointer: `/body/${field}`, message: `${field}: ${result.problem}` });
    return undefined;
  }

  refuse(field: string, message: string): undefined {
    this.errors.push({ pointer: `/body/${field}`, message: `${field}: ${message}` });
    return undefined;
  }

  throwIfAny(): void {
    if (this.errors.length === 0) return;
    const detail = this.errors.length === 1 ? (this.errors[0] as ProblemError).message : `${this.errors.length} settings were refused; see errors.`;
    throw new AdminProblem('request_invalid', detail, this.errors);
  }
}

const nullable = <T>(value: string | null, check: (text: string) => SettingCheck<T>): SettingCheck<T | null> => (value === null || value.trim() === '' ? { ok: true, value: null } : check(value.trim()));

/** The changes a body asks for; throws AdminProblem (400, with `errors`) naming every refused field. */
export function checkedSettings(body: KeySettingsBody, now: number): KeySettingsUpdate {
  const checks = new FieldChecks();
  const changes: KeySettingsUpdate = {};
  if (body.name !== undefined) changes.name = body.name.trim() === '' ? checks.refuse('name', 'expected the name of the client instance the key is for, such as web-1') : body.name.trim();
  if (body.tags !== undefined) changes.tags = [...new Set(body.tags)];
  if (body.scopes !== undefined) changes.scopes = checks.take('scopes', checkEach(body.scopes, checkScope));
  if (body.apis !== undefined) changes.apis = checks.take('apis', checkEach([...new Set(body.apis)], checkApiName));
  if (body.allowedCidrs !== undefined) changes.allowedCidrs = checks.take('allowedCidrs', checkEach(body.allowedCidrs, checkCidr));
  if (body.rateLimit !== undefined) changes.rateLimit = checks.take('rateLimit', nullable(body.rateLimit, checkRate));
  if (body.quota !== undefined) changes.quota = checks.take('quota', nullable(body.quota, checkQuota));
  if (body.certificate !== undefined && body.certFingerprint !== undefined && body.certFingerprint !== null) {
    checks.refuse('certificate', 'give a PEM certificate or certFingerprint, not both');
  } else if (body.certificate !== undefined) {
    changes.certFingerprint = checks.take('certificate', checkCertificatePem(body.certificate));
  } else if (body.certFingerprint !== undefined) {
    changes.certFingerprint = checks.take('certFingerprint', nullable(body.certFingerprint, checkCertFingerprint));
  }
  if (body.signingKey !== undefined) changes.signingKey = checks.take('signingKey', nullable(body.signingKey, checkSigningKeyPem));
  if (body.leakAction !== undefined) changes.leakAction = body.leakAction;
  if (body.metadata !== undefined) changes.metadata = body.metadata;
  if (body.expiresIn !== undefined && body.expiresAt !== undefined) {
    checks.refuse('expiresIn', 'give expiresIn or expiresAt, not both');
  } else if (body.expiresIn !== undefined) {
    const duration = parseDuration(body.expiresIn);
    changes.expiresAt = duration === null || duration === 0 ? checks.refuse('expiresIn', 'expected a duration longer than 0s, such as 12h, 30d or 90d') : now + duration;
  } else if (body.expiresAt !== undefined) {
    changes.expiresAt = body.expiresAt === null ? null : Date.parse(body.expiresAt);
  }
  checks.throwIfAny();
  return changes;
}

/** A new key's settings: the checked body over the defaults (no limits of its own, no expiry). */
export function newKeySettings(body: KeySettingsBody & { name: string }, now: number): KeySettings {
  const changes = checkedSettings(body, now);
  if (changes.expiresAt !== undefined && changes.expiresAt !== null && changes.expiresAt <= now) {
    throw new AdminProblem('request_invalid', 'expiresAt: expected a time in the future', [{ pointer: '/body/expiresAt', message: 'expiresAt: expected a time in the future' }]);
  }
  return {
    name: body.name.trim(), tags: [], scopes: [], apis: [], allowedCidrs: [], certFingerprint: null, signingKey: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null,
    ...changes,
  };
}
