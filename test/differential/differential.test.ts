/**
 * Differential tests: real upstream frameworks behind the gateway, fed generated variants of
 * well-formed requests, and for every request the gateway lets through, a check that the
 * upstream did what the gateway checked (differential-assertions.ts):
 *
 * - the operation the upstream ran is the one the gateway matched: the gateway names the
 *   operation it matched in `RateLimit-Policy` (each operation of api.yaml has a rate of its
 *   own), and the upstream names the handler that ran;
 * - the key the upstream sees as the caller holds that operation's scopes;
 * - no key, in any spelling, and no client-sent identity or forwarding header reached the
 *   application, as its framework exposes headers;
 * - the parameters and body the upstream acted on are inside the operation's schema (numbers
 *   compared exactly).
 *
 * Upstreams: Fastify (case-sensitive router), Express 5 (case-insensitive, method override,
 * body-parser's charsets) and a Python WSGI application (CGI header names, `;` in queries,
 * exact integers, case-insensitive field binding); see upstreams/. Requests are sent as raw
 * bytes, so each spelling reaches the gateway as generated.
 *
 * Size: PORTCULLIS_DIFFERENTIAL_RUNS generated cases per upstream (300 by default, shared
 * among the variant classes), plus the saved regression cases, which run first.
 * PORTCULLIS_DIFFERENTIAL_SEED fixes fast-check's seed. A failure is shrunk, printed with its
 * seed and saved to regressions.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeNeeding } from '../support/required-service.ts';
import { buildBase, CONTRACT, keyFor, type OperationId } from './base-requests.ts';
import { startHarness, type DifferentialHarness, type ExchangeResult } from './differential-harness.ts';
import { regressionRequests, saveRegression } from './regressions.ts';
import { describeVariant, type RequestVariant } from './request-variant.ts';
import { startExpressUpstream } from './upstreams/express-upstream.ts';
import { startFastifyUpstream } from './upstreams/fastify-upstream.ts';
import type { RunningUpstream } from './upstreams/running-upstream.ts';
import { ROUTES } from './upstreams/upstream-report.ts';
import { checkPython, startWsgiUpstream } from './upstreams/wsgi-upstream.ts';
import { BODY_VARIANTS } from './variants/body-variants.ts';
import { HEADER_VARIANTS } from './variants/header-variants.ts';
import { PATH_VARIANTS } from './variants/path-variants.ts';
import type { VariantClass } from './variants/variant-class.ts';

function positiveInteger(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
  return value;
}

const RUNS_PER_UPSTREAM = positiveInteger(process.env.PORTCULLIS_DIFFERENTIAL_RUNS, 300, 'PORTCULLIS_DIFFERENTIAL_RUNS');
const FIXED_SEED = process.env.PORTCULLIS_DIFFERENTIAL_SEED === undefined ? null : Number(process.env.PORTCULLIS_DIFFERENTIAL_SEED) | 0;
const CLASSES: readonly VariantClass[] = [...PATH_VARIANTS, ...HEADER_VARIANTS, ...BODY_VARIANTS];
const RUNS_PER_CLASS = Math.max(1, Math.ceil(RUNS_PER_UPSTREAM / CLASSES.length));

/** The failure as a person reads it. */
function describeFailure(variantClass: string, upstream: string, seed: number, path: string | null, variant: RequestVariant, result: ExchangeResult): string {
  const report = result.report;
  return [
    `${variantClass}: the gateway and ${upstream} read a request differently (seed ${seed}${path === null ? '' : `, path "${path}"`}):`,
    '  request (keys as placeholders):',
    describeVariant(variant),
    `  gateway: ${result.forwarded ? `forwarded, matched ${result.gatewayOperation ?? '(none named)'}` : `answered ${result.response.status}`}`,
    report === null ? '' : `  ${upstream}: ${result.response.status}, ran ${report.route ?? 'nothing'} (${report.method} ${report.target})${report.error ? `, ${report.error}` : ''}`,
    '  problems:',
    ...result.problems.map((problem) => `    - ${problem}`),
    '  saved to test/differential/regressions.json (replayed first from now on)',
  ].join('\n');
}

/** What one upstream's run sent, for the summary printed after it. */
interface RunSize {
  generated: number;
  saved: number;
  lines: string[];
}

/** Runs one variant class as a property against the harness's upstream; fails with the shrunk counterexample. */
async function checkClass(harness: DifferentialHarness, variantClass: VariantClass, size: RunSize): Promise<void> {
  const seed = FIXED_SEED ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  const examples = regressionRequests(variantClass.name).map((request): [RequestVariant] => [request]);
  const property = fc.asyncProperty(variantClass.arbitrary, async (variant) => {
    const result = await harness.exchange(variant);
    if (result.problems.length > 0) throw new Error(result.problems.join('; '));
  });
  // The saved cases run first and count as runs: they come on top of the generated ones.
  const details = await fc.check(property, { numRuns: RUNS_PER_CLASS + examples.length, seed, examples, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: false });
  const saved = Math.min(details.numRuns, examples.length);
  size.generated += details.numRuns - saved;
  size.saved += saved;
  size.lines.push(`${variantClass.name}: ${details.numRuns - saved} generated + ${saved} saved cases, ${details.numShrinks} shrinks, seed ${seed}${details.failed ? ', FAILED' : ''}`);
  if (!details.failed || details.counterexample === null) return;
  const [variant] = details.counterexample;
  const path = details.counterexamplePath ?? null;
  const result = await harness.exchange(variant);
  if (result.problems.length === 0) assert.fail(`${variantClass.name} on ${harness.upstream}: the counterexample passed when sent again (flaky?): ${String(details.errorInstance)}\n${describeVariant(variant)}`);
  saveRegression({ class: variantClass.name, upstream: harness.upstream, seed, path, problems: result.problems, request: variant });
  assert.fail(describeFailure(variantClass.name, harness.upstream, seed, path, variant, result));
}

/** The plain request of every operation, with a key that holds its scopes, reaches that operation on the upstream: the setup measures variants, not itself. */
async function checkBaseline(harness: DifferentialHarness): Promise<void> {
  assert.deepEqual(
    ROUTES.map((route) => `${route.operationId} ${route.method} ${route.template}`).sort(),
    CONTRACT.operations.map((operation) => `${operation.id} ${operation.method} ${operation.template}`).sort(),
    'the upstreams implement exactly the operations of api.yaml',
  );
  for (const operation of CONTRACT.operations) {
    for (const bearer of [false, true]) {
      const choice = { operation: operation.id as OperationId, holder: true, keyIndex: 0, bearer, id: '7', user: 'alice', withQuery: true, name: 'widget', quantity: 5, serial: '42' };
      const result = await harness.exchange(buildBase(choice));
      const where = `${operation.id} with the ${keyFor(choice)} key in ${bearer ? 'Authorization' : 'X-API-Key'}`;
      assert.equal(result.response.status, 200, `${where}: ${result.response.body.toString('utf8').slice(0, 300)}`);
      assert.equal(result.report?.route, operation.id, where);
      assert.equal(result.gatewayOperation, operation.id, where);
      assert.deepEqual(result.problems, [], where);
    }
  }
}

function differentialSuite(startUpstream: () => Promise<RunningUpstream>): void {
  let harness: DifferentialHarness;
  const size: RunSize = { generated: 0, saved: 0, lines: [] };
  before(async () => {
    harness = await startHarness(CONTRACT, startUpstream);
  });
  after(async () => {
    if (harness === undefined) return;
    await harness.stop();
    // The size of the run, on stdout: how many cases were generated, and how many the gateway let through.
    const { cases, forwarded } = harness.counts;
    console.log(
      `differential ${harness.upstream}: ${size.generated} generated cases (up to ${RUNS_PER_CLASS} per class, ${CLASSES.length} classes) and ${size.saved} saved ones; ` +
        `${cases} requests sent with the baseline and shrinking, ${forwarded} let through\n  ${size.lines.join('\n  ')}`,
    );
  });

  it('sends each operation\'s plain request to that operation (the setup works)', () => checkBaseline(harness));

  for (const variantClass of CLASSES) {
    it(`${variantClass.name}: ${variantClass.probes}`, () => checkClass(harness, variantClass, size));
  }
}

describe('differential: Fastify behind the gateway', () => differentialSuite(startFastifyUpstream));
describe('differential: Express 5 behind the gateway', () => differentialSuite(startExpressUpstream));
describeNeeding(checkPython(), 'differential: a Python WSGI application behind the gateway', () => differentialSuite(startWsgiUpstream));
