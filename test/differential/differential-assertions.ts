/**
 * The oracle: what must hold for every request the gateway lets through, whatever the variant.
 *
 * The gateway's side is read from its response, never modelled: the operation it matched is
 * named by the `"route"` item of `RateLimit-Policy` (every operation of api.yaml has a rate of
 * its own, see contract.ts), and the identity it vouched for is what it told the upstream. The
 * upstream's side is its report (upstreams/upstream-report.ts): the operation its router chose
 * and what that operation could act on, as the framework exposes it.
 *
 * A request the gateway refuses is fine (deny is safe) and nothing is checked for it.
 */
import { contractProblems, gatewayOperationOf, holdsScopes, type Contract } from './contract.ts';
import { headerValues, type RawHttpResponse } from './raw-exchange.ts';
import { referencedKeys, symbolicText, type RequestVariant, type TestKey, type TestKeys } from './request-variant.ts';
import { UPSTREAM_HEADER, type UpstreamReport } from './upstreams/upstream-report.ts';

export interface Judgement {
  /** True when the upstream answered (the gateway forwarded the request). */
  forwarded: boolean;
  /** The operation the gateway matched, when it forwarded. */
  gatewayOperation: string | null;
  report: UpstreamReport | null;
  problems: string[];
}

/** The upstream's report in a response, or null when the gateway answered itself. */
function reportOf(response: RawHttpResponse): UpstreamReport | null {
  if (headerValues(response, UPSTREAM_HEADER).length === 0) return null;
  return JSON.parse(response.body.toString('utf8')) as UpstreamReport;
}

/** Keys (in any of the encodings the variants use) found in a header value the application reads. */
function keysIn(value: string, keys: TestKeys): TestKey[] {
  const decoded = [...value.matchAll(/[A-Za-z0-9+/_-]{16,}={0,2}/g)].map((match) => Buffer.from(match[0], 'base64').toString('latin1'));
  return [...keys.values()].filter((key) => value.includes(key.key) || decoded.some((text) => text.includes(key.key)));
}

/**
 * No key reached the application, in the credential headers as the framework exposes them
 * (WSGI folds `X_API_KEY` into `HTTP_X_API_KEY`; an Authorization value that is not
 * `Bearer <key>` to the gateway may be a key to a lenient reader).
 */
function leakedKeys(report: UpstreamReport, keys: TestKeys): string[] {
  const problems: string[] = [];
  for (const header of ['authorization', 'x-api-key']) {
    const value = report.lookups[header];
    if (value === null || value === undefined) continue;
    for (const key of keysIn(value, keys)) problems.push(`the ${key.name} key reached the upstream in ${header}: ${JSON.stringify(value)}`);
  }
  return problems;
}

/**
 * The authenticated key the application sees, when its identity headers are exactly the
 * gateway's (one key id the request carried, with its name); and problems with any identity or
 * forwarding header that is not exactly what the gateway sets.
 */
function identityOf(report: UpstreamReport, keys: TestKeys, variant: RequestVariant, host: string): { key: TestKey | null; problems: string[] } {
  const problems: string[] = [];
  const lookups = report.lookups;
  const id = lookups['x-portcullis-key-id'];
  let key = [...keys.values()].find((candidate) => candidate.id === id) ?? null;
  if (key === null) problems.push(`the upstream's X-Portcullis-Key-Id is ${JSON.stringify(id)}, not exactly one key id`);
  else if (!referencedKeys(variant).has(key.name)) problems.push(`the upstream's X-Portcullis-Key-Id names the ${key.name} key, which the request did not carry`);
  else if (lookups['x-portcullis-key-name'] !== key.name) problems.push(`the upstream's X-Portcullis-Key-Name is ${JSON.stringify(lookups['x-portcullis-key-name'])}, not ${JSON.stringify(key.name)}`);
  if (problems.length > 0) key = null;
  // What the gateway writes for a client on 127.0.0.1 without trusted proxies (absent is fine
  // too: `Forwarded` is off by default). Anything else came from the client.
  const gatewayValues: Record<string, ReadonlyArray<string | null>> = {
    'x-forwarded-for': ['127.0.0.1'],
    'x-forwarded-proto': ['http'],
    'x-forwarded-host': [host, null],
    forwarded: [null, `for=127.0.0.1;proto=http;host="${host}"`],
  };
  for (const [name, values] of Object.entries(gatewayValues)) {
    if (!values.includes(lookups[name] ?? null)) problems.push(`the upstream's ${name} is ${JSON.stringify(lookups[name])}, not what the gateway writes (${values.map((value) => JSON.stringify(value)).join(' or ')})`);
  }
  const claimed = report.portcullisHeaders.filter((name) => name !== 'x-portcullis-key-id' && name !== 'x-portcullis-key-name');
  if (claimed.length > 0) problems.push(`X-Portcullis-* headers the gateway never sets reached the upstream: ${claimed.join(', ')}`);
  return { key, problems };
}

/** Judges one exchange: the variant as sent, the response the client received. */
export function judgeExchange(contract: Contract, keys: TestKeys, variant: RequestVariant, response: RawHttpResponse, host: string): Judgement {
  const report = reportOf(response);
  if (report === null) {
    const problems = response.status >= 200 && response.status < 300 ? [`the gateway answered ${response.status} itself`] : [];
    return { forwarded: false, gatewayOperation: null, report, problems };
  }
  const gateway = gatewayOperationOf(contract, headerValues(response, 'ratelimit-policy'));
  const problems = leakedKeys(report, keys);
  const identity = identityOf(report, keys, variant, host);
  problems.push(...identity.problems);
  if (response.status >= 200 && response.status < 300 && report.route !== null) {
    const ran = contract.byId.get(report.route);
    if (ran === undefined) throw new Error(`the upstream ran ${report.route}, which api.yaml does not have`);
    if (gateway === null) problems.push(`the upstream ran ${ran.id} but the gateway's response names no matched operation`);
    else if (gateway.id !== ran.id) problems.push(`the gateway checked ${gateway.id} (${gateway.method} ${gateway.template}) but the upstream ran ${ran.id} (${ran.method} ${ran.template})`);
    if (identity.key !== null && !holdsScopes(identity.key.scopes, ran.scopes)) {
      problems.push(`the upstream ran ${ran.id}, which needs ${ran.scopes.join(' and ')}, for the ${identity.key.name} key (scopes: ${identity.key.scopes.join(', ') || 'none'})`);
    }
    problems.push(...contractProblems(ran, report).map((problem) => `${ran.id}: ${problem}`));
  }
  return { forwarded: true, gatewayOperation: gateway?.id ?? null, report, problems: problems.map((problem) => symbolicText(problem, keys).replaceAll(host, '{host}')) };
}
