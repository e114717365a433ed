import type { ConfigFragment } from '../config/config-fragment.ts';
import { ConfigError } from '../config/config-error.ts';
import type { Denial, ErrorCode } from '../http/error-catalogue.ts';
import type { Operation } from '../routes/operation.ts';
import type { Check, CheckOutcome, CheckResult, RequestContext } from './request-context.ts';

/**
 * Report-only mode, as every check in it and the engine share it. A policy named in
 * `reportOnly.policies` still decides, but what it would refuse is recorded as a *would-deny*
 * (counted, logged, optionally told to the upstream) and the request goes on. The check says
 * which of its denials are report-only (`Check.reports`); the engine (src/engine/pipeline.ts)
 * records them and runs the next check. Only a check in report mode has `reports`, so
 * enforcing costs nothing.
 */

/** The policies that may run in report mode, with the codes they would refuse with. */
const REPORTABLE_POLICIES = {
  'network-access': ['ip_not_allowed'],
  'route-match': ['route_not_found', 'method_not_allowed'],
  scopes: ['scope_missing'],
  'input-validation': ['request_invalid', 'unsupported_media_type'],
  'rate-limits': ['rate_limited'],
  quotas: ['quota_exceeded'],
} as const satisfies Record<string, readonly ErrorCode[]>;

export type ReportablePolicy = keyof typeof REPORTABLE_POLICIES;

/**
 * The pipeline's other policies, and why each always enforces: they protect the gateway's own
 * reading of the request (what every other check, and the upstream, relies on) or the gateway
 * itself. A report-only authentication would forward unauthenticated requests with no key to
 * count them against.
 */
const ALWAYS_ENFORCED: Readonly<Record<string, string>> = {
  'request-sanity': 'it settles how the gateway reads the request (method, target, Host, header names the upstream could read otherwise, method overrides), which every other check relies on',
  'path-canonical': 'the canonical path is the one path both the route table and the upstream see; letting another through would let a request be checked as one path and run as another',
  'address-limit': 'it protects the gateway itself from floods of refused requests and from key guessing',
  cors: 'it answers preflights and refuses nothing',
  'client-certificate': 'authentication is what every per-key check and the upstream\'s X-Portcullis-Key-Id rely on',
  'key-auth': 'authentication (a missing, invalid, revoked or expired key) is what every per-key check and the upstream\'s X-Portcullis-Key-Id rely on',
  'key-policy': 'a key bound to networks or a certificate is refused elsewhere as a stolen key would be; that is authentication',
  'key-limits': 'name its parts instead: rate-limits (route and key rates), quotas',
};

/** The header a would-deny is told to the upstream in (`reportOnly.header`); a client's own `X-Portcullis-*` never reaches the upstream. */
export const WOULD_DENY_HEADER = 'X-Portcullis-Would-Deny';

export interface ReportOnlySettings {
  reportOnly: {
    /** The policies in report mode; empty: every policy enforces. */
    policies: ReadonlySet<ReportablePolicy>;
    /** Whether each would-deny is sent upstream in X-Portcullis-Would-Deny. */
    header: boolean;
  };
}

const REPORTABLE_NAMES = Object.keys(REPORTABLE_POLICIES).join(', ');

export const reportOnlyConfig: ConfigFragment<ReportOnlySettings> = {
  formats: {
    // Any policy of the pipeline, so that naming one that always enforces is told why (in `read`).
    'report-only-policy': {
      expected: `a policy that can run in report mode: ${REPORTABLE_NAMES}`,
      documentation: `The name of a policy that can run in report mode: ${Object.keys(REPORTABLE_POLICIES).map((name) => `\`${name}\``).join(', ')}.`,
      validate: (value) => value in REPORTABLE_POLICIES || value in ALWAYS_ENFORCED,
      placeholder: 'policy',
    },
  },
  options: {
    'reportOnly.policies': {
      type: 'array',
      items: { type: 'string', format: 'report-only-policy' },
      uniqueItems: true,
      default: [],
      'x-flag': '--report-only',
      description: `Policies that report instead of refusing (to roll one out against live traffic): what they would refuse goes on to the upstream, and is counted in \`portcullis_would_deny_total{code}\` and logged (once per code per 10 s, with route, key id and request id). Any of ${REPORTABLE_NAMES}. Empty: every policy enforces. Request sanity, canonical paths, authentication and the address limit always enforce (naming one stops the start): they protect the gateway's own reading of the request, or the gateway itself. Body size limits and the ambiguity refusals of input validation (a Content-Type sent twice, a validated header named in Connection) enforce too.`,
    },
    'reportOnly.header': {
      type: 'boolean',
      default: false,
      description: `Send each would-deny upstream as \`${WOULD_DENY_HEADER}: <code>\` (one line per would-deny), so the API can log or tag what enforcing would refuse. Never sent to the client.`,
    },
  },
  read(document, { sourceOf }) {
    const { reportOnly } = document as unknown as { reportOnly: { policies: string[]; header: boolean } };
    const problems: string[] = [];
    reportOnly.policies.forEach((name, index) => {
      if (name in REPORTABLE_POLICIES) return;
      const source = sourceOf('reportOnly.policies');
      const field = `reportOnly.policies.${index}${source === undefined ? '' : ` (from ${source})`}`;
      // The format has let only the pipeline's policies through; these always enforce.
      problems.push(`${field}: ${name} cannot run in report mode: ${ALWAYS_ENFORCED[name] as string}. Policies that can: ${REPORTABLE_NAMES}`);
    });
    if (problems.length > 0) throw new ConfigError(problems);
    return { reportOnly: { policies: new Set(reportOnly.policies as ReportablePolicy[]), header: reportOnly.header } };
  },
};

/**
 * Where `policy` reports instead of refusing: everywhere (`reportOnly.policies`), on the
 * operations that name it (`x-portcullis-report-only`, a route rule's `reportOnly`), or nowhere
 * (null: it enforces, and its check pays nothing for report mode).
 */
export type ReportWhere = ((context: RequestContext) => boolean) | null;

const EVERYWHERE = (): boolean => true;

export function reportWhere(settings: ReportOnlySettings, policy: ReportablePolicy, operations: readonly Operation[] = []): ReportWhere {
  if (settings.reportOnly.policies.has(policy)) return EVERYWHERE;
  if (!operations.some((operation) => operation.reportOnly?.has(policy) === true)) return null;
  return (context) => context.operation?.reportOnly?.has(policy) === true;
}

/** The codes the policies in report mode (anywhere, or on some operation) would refuse with: the would-deny metric's labels. */
export function reportedCodes(settings: ReportOnlySettings, operations: readonly Operation[] = []): ErrorCode[] {
  const policies = new Set<string>(settings.reportOnly.policies);
  for (const operation of operations) for (const policy of operation.reportOnly ?? []) policies.add(policy);
  return [...policies].flatMap((policy) => REPORTABLE_POLICIES[policy as ReportablePolicy] ?? []);
}

/**
 * The check of a policy whose every denial with one of its codes is a would-deny in report
 * mode (network-access, route-match, scopes); unchanged when the policy enforces. Its other
 * denials (route-match's letter-case refusal) still refuse.
 */
export function withReportMode(check: Check | null, settings: ReportOnlySettings, policy: ReportablePolicy, operations: readonly Operation[] = []): Check | null {
  const where = reportWhere(settings, policy, operations);
  if (check === null || where === null) return check;
  const codes: ReadonlySet<ErrorCode> = new Set(REPORTABLE_POLICIES[policy]);
  return Object.assign(check, { reports: (denial: Denial, context: RequestContext) => codes.has(denial.code) && where(context) });
}

/**
 * The outcome of a check in report mode that went on after a would-deny (`reported`) to do the
 * rest of its work (charge the quota, make the body ready to forward): a refusal that enforces
 * wins; otherwise the first would-deny is the one reported, as enforcing would have answered it.
 */
export function afterReported(reports: (denial: Denial) => boolean, reported: Denial, rest: CheckOutcome): CheckOutcome {
  if (rest instanceof Promise) return rest.then((result) => firstReported(reports, reported, result));
  return firstReported(reports, reported, rest);
}

function firstReported(reports: (denial: Denial) => boolean, reported: Denial, rest: CheckResult): CheckResult {
  if (rest === null || (typeof rest === 'object' && reports(rest))) return reported;
  return rest;
}
