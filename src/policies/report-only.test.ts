import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../config/config-error.ts';
import { denial } from '../http/error-catalogue.ts';
import type { Operation } from '../routes/operation.ts';
import { fakeContext } from '../../test/support/fake-context.ts';
import { afterReported, reportedCodes, reportOnlyConfig, reportWhere } from './report-only.ts';

const read = (policies: string[], sourceOf: (field: string) => string | undefined = () => undefined) =>
  reportOnlyConfig.read({ reportOnly: { policies, header: true } }, { cwd: '.', sourceOf });

describe('reportOnly options', () => {
  it('reads the policies that report, and the codes they report', () => {
    const settings = read(['input-validation', 'rate-limits']);
    assert.deepEqual([...settings.reportOnly.policies], ['input-validation', 'rate-limits']);
    assert.equal(settings.reportOnly.header, true);
    assert.deepEqual(reportedCodes(settings), ['request_invalid', 'unsupported_media_type', 'rate_limited']);
    assert.deepEqual(reportedCodes(read([])), []);
  });

  it('refuses a policy that always enforces, naming the field, where it came from, and why', () => {
    assert.throws(() => read(['scopes', 'key-auth'], (field) => (field === 'reportOnly.policies' ? 'portcullis.yaml' : undefined)), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 1);
      assert.match(error.problems[0] as string, /^reportOnly\.policies\.1 \(from portcullis\.yaml\): key-auth cannot run in report mode: authentication/);
      assert.match(error.problems[0] as string, /Policies that can: network-access, route-match, scopes, input-validation, rate-limits, quotas$/);
      return true;
    });
    for (const name of ['request-sanity', 'path-canonical', 'address-limit', 'client-certificate', 'key-policy', 'cors']) {
      assert.throws(() => read([name]), new RegExp(`reportOnly\\.policies\\.0: ${name} cannot run in report mode`));
    }
    assert.throws(() => read(['key-limits']), /key-limits cannot run in report mode: name its parts instead: rate-limits \(route and key rates\), quotas/);
  });

  it('accepts, as a format, the name of any policy of the pipeline (read then says why one always enforces)', () => {
    const format = reportOnlyConfig.formats?.['report-only-policy'];
    const accepts = format?.validate as (value: string) => boolean;
    assert.deepEqual(['input-validation', 'quotas', 'key-auth', 'path-canonical', 'validation', 'Scopes', ''].map(accepts), [true, true, true, true, false, false, false]);
    assert.equal(format?.expected, 'a policy that can run in report mode: network-access, route-match, scopes, input-validation, rate-limits, quotas');
  });
});

describe('afterReported', () => {
  const RATE = denial('rate_limited', 'over the rate');
  const QUOTA = denial('quota_exceeded', 'over the quota');
  const FAILED = denial('internal_error');
  const reports = (refused: { code: string }) => refused.code === 'rate_limited' || refused.code === 'quota_exceeded';

  it('reports the first would-deny when the rest passes or would deny too, and lets a refusal that enforces win', async () => {
    assert.equal(afterReported(reports, RATE, null), RATE);
    assert.equal(afterReported(reports, RATE, QUOTA), RATE);
    assert.equal(afterReported(reports, RATE, FAILED), FAILED);
    assert.equal(await afterReported(reports, RATE, Promise.resolve(null)), RATE);
    assert.equal(await afterReported(reports, RATE, Promise.resolve(FAILED)), FAILED);
  });
});

describe('report mode on one operation', () => {
  const operation = (template: string, reportOnly?: string[]): Operation => ({ method: 'POST', template, source: template, scopes: null, maxBodySize: null, rate: null, validation: null, ...(reportOnly === undefined ? {} : { reportOnly: new Set(reportOnly) }) });
  const orders = operation('/orders', ['input-validation']);
  const invoices = operation('/invoices');
  const on = (op: Operation | null) => fakeContext({}, { operation: op });

  it('reports only on the operations that name the policy; enforces everywhere else', () => {
    const where = reportWhere(read([]), 'input-validation', [orders, invoices]);
    assert.ok(where !== null);
    assert.deepEqual([where(on(orders)), where(on(invoices)), where(on(null))], [true, false, false]);
  });

  it('is nowhere (no cost) when no operation names it, and everywhere when reportOnly.policies does', () => {
    assert.equal(reportWhere(read([]), 'scopes', [orders, invoices]), null);
    const everywhere = reportWhere(read(['scopes']), 'scopes', [orders, invoices]);
    assert.deepEqual([everywhere?.(on(invoices)), everywhere?.(on(null))], [true, true]);
  });

  it('counts the codes of policies named by an operation among the would-deny metric\'s labels', () => {
    assert.deepEqual(reportedCodes(read(['rate-limits']), [orders, invoices]), ['rate_limited', 'request_invalid', 'unsupported_media_type']);
  });
});
