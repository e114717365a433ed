import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeKey, fakeParts } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import type { Operation } from '../../routes/operation.ts';
import { RouteTable } from '../../routes/route-table.ts';
import type { ScopeRequirement } from '../../routes/scopes.ts';
import { createScopeCheck } from './scope-check.ts';
import { scopes } from './index.ts';
import type { ReportOnlySettings } from '../report-only.ts';

/** The settings of a pipeline with nothing in report mode. */
const ENFORCING: ReportOnlySettings = { reportOnly: { policies: new Set(), header: false } };

function operation(template: string, required: ScopeRequirement | null): Operation {
  return { method: 'POST', template, source: `test ${template}`, scopes: required, maxBodySize: null, rate: null, validation: null };
}

const cases: Array<{ name: string; required: ScopeRequirement | null; held: string[]; missing: string | null }> = [
  { name: 'an operation that requires nothing', required: null, held: [], missing: null },
  { name: 'the scope itself', required: [['orders:write']], held: ['orders:read', 'orders:write'], missing: null },
  { name: 'another scope only', required: [['orders:write']], held: ['orders:read'], missing: 'orders:write' },
  { name: 'no scopes at all', required: [['orders:write']], held: [], missing: 'orders:write' },
  { name: 'a wildcard over the scope', required: [['orders:items:write']], held: ['orders:*'], missing: null },
  { name: 'a wildcard that does not cover the bare prefix', required: [['orders']], held: ['orders:*'], missing: 'orders' },
  { name: 'a wildcard that does not cover a longer name', required: [['ordersx:read']], held: ['orders:*'], missing: 'ordersx:read' },
  { name: 'the all-scopes wildcard', required: [['admin', 'orders:write']], held: ['*'], missing: null },
  { name: 'one of two scopes required together', required: [['orders:write', 'admin']], held: ['orders:write'], missing: 'orders:write and admin' },
  { name: 'the second of two alternatives', required: [['orders:write'], ['admin']], held: ['admin'], missing: null },
  { name: 'neither of two alternatives', required: [['orders:write'], ['admin']], held: ['orders:read'], missing: 'orders:write, or admin' },
  { name: 'an alternative that requires nothing (security: [{}])', required: [['admin'], []], held: [], missing: null },
  { name: 'a scope that differs only in case', required: [['orders:write']], held: ['Orders:Write'], missing: 'orders:write' },
];

describe('scope check', () => {
  const check = createScopeCheck();
  for (const { name, required, held, missing } of cases) {
    it(`${missing === null ? 'passes' : 'refuses'}: ${name}`, () => {
      const context = fakeContext({ method: 'POST', url: '/orders' }, { key: fakeKey({ scopes: held }), operation: operation('/orders', required) });
      const outcome = check.run(context) as Denial | null;
      if (missing === null) return assert.equal(outcome, null);
      assert.equal(outcome?.code, 'scope_missing');
      assert.equal(outcome?.status, 403);
      assert.equal(outcome?.detail, `This operation needs a key with the scope ${missing}.`);
    });
  }

  it('passes a request no route matched (no routes: nothing is required)', () => {
    assert.equal(check.run(fakeContext({}, { key: fakeKey(), operation: null })), null);
  });

  it('refuses a required scope when no key was authenticated (fail closed)', () => {
    assert.equal((check.run(fakeContext({}, { key: null, operation: operation('/orders', [['orders:read']]) })) as Denial | null)?.code, 'scope_missing');
  });
});

describe('scopes policy', () => {
  const routes = (operations: Operation[]) => ({ table: RouteTable.build(operations), operations });

  it('is off without routes, or when no operation requires a scope', () => {
    assert.equal(scopes.stage, 7);
    assert.equal(scopes.create(ENFORCING, fakeParts({ routes: null })), null);
    assert.equal(scopes.create(ENFORCING, fakeParts({ routes: routes([operation('/a', null), operation('/b', null)]) })), null);
  });

  it('is on when any operation requires one', () => {
    const check = scopes.create(ENFORCING, fakeParts({ routes: routes([operation('/a', null), operation('/b', [['b:write']])]) }));
    assert.equal(check?.name, 'scopes');
  });
});

describe('scopes policy in report mode', () => {
  it('reports a missing scope; enforcing, it has nothing to report', () => {
    const routes = { table: RouteTable.build([operation('/b', [['b:write']])]), operations: [operation('/b', [['b:write']])] };
    const reporting = scopes.create({ reportOnly: { policies: new Set(['scopes']), header: false } }, fakeParts({ routes }));
    const context = fakeContext({}, { operation: routes.operations[0] as Operation, key: fakeKey({ scopes: [] }) });
    const refused = reporting?.run(context) as Denial;
    assert.equal(refused.code, 'scope_missing');
    assert.equal(reporting?.reports?.(refused, context), true);
    assert.equal(scopes.create(ENFORCING, fakeParts({ routes }))?.reports, undefined);
  });
});
