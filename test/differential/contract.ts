/**
 * api.yaml as the oracle reads it: each operation's method, template, scopes, the rate that
 * identifies it in the gateway's responses, and its parameters and body schema with exact
 * numbers. Also: which operation the gateway matched, read off a response it forwarded, and
 * whether what an upstream acted on is inside the operation's contract.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { objectProblems, textValue, valueProblems, type Schema } from './exact-schema.ts';
import type { UpstreamReport } from './upstreams/upstream-report.ts';

export const API_FILE = join(import.meta.dirname, 'api.yaml');

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface ContractOperation {
  id: string;
  method: string;
  template: string;
  scopes: string[];
  /** The `q` of the operation's own rate: unique per operation (see api.yaml). */
  rateLimit: number;
  parameters: Parameter[];
  body: { required: boolean; schema: Schema } | null;
}

export interface Contract {
  operations: ContractOperation[];
  byId: ReadonlyMap<string, ContractOperation>;
  byRateLimit: ReadonlyMap<number, ContractOperation>;
}

interface OperationObject {
  operationId: string;
  'x-portcullis-scopes'?: string[];
  'x-portcullis-rate': string;
  parameters?: Array<Omit<Parameter, 'required'> & { required?: boolean }>;
  requestBody?: { required?: boolean; content: { 'application/json': { schema: Schema } } };
}

/** A path item: operations by method, and parameters shared by them. */
type PathItem = Record<string, unknown> & { parameters?: OperationObject['parameters'] };

export function loadContract(): Contract {
  const document = parse(readFileSync(API_FILE, 'utf8'), { intAsBigInt: true }) as { paths: Record<string, PathItem> };
  const operations: ContractOperation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    for (const [method, entry] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const operation = entry as OperationObject;
      const rate = /^(\d+)\/s$/.exec(operation['x-portcullis-rate']);
      if (rate === null) throw new Error(`${template} ${method}: x-portcullis-rate must be N/s (the suite identifies operations by it)`);
      const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((parameter) => ({ ...parameter, required: parameter.required === true }));
      const body = operation.requestBody;
      operations.push({
        id: operation.operationId,
        method: method.toUpperCase(),
        template,
        scopes: operation['x-portcullis-scopes'] ?? [],
        rateLimit: Number(rate[1]),
        parameters,
        body: body === undefined ? null : { required: body.required === true, schema: body.content['application/json'].schema },
      });
    }
  }
  const byRateLimit = new Map(operations.map((operation) => [operation.rateLimit, operation]));
  if (byRateLimit.size !== operations.length) throw new Error('api.yaml: two operations share an x-portcullis-rate; the suite identifies operations by it');
  return { operations, byId: new Map(operations.map((operation) => [operation.id, operation])), byRateLimit };
}

/**
 * The operation the gateway matched for a request it forwarded, from the `"route"` item of
 * the response's RateLimit-Policy field: the gateway writes the matched operation's own rate
 * there (stage 8 charges the operation that stage 5 matched, stage 7 checked the scopes of and
 * stage 9 validated against). Null when the field names no route.
 */
export function gatewayOperationOf(contract: Contract, policyFields: readonly string[]): ContractOperation | null {
  for (const field of policyFields) {
    const match = /"route";q=(\d+)/.exec(field);
    if (match) return contract.byRateLimit.get(Number(match[1])) ?? null;
  }
  return null;
}

/** Whether granted scopes cover every required one: exactly, by `prefix:*`, or by `*` (the documented semantics, written independently of the gateway's). */
export function holdsScopes(granted: readonly string[], required: readonly string[]): boolean {
  return required.every((scope) => granted.some((held) => held === scope || held === '*' || (held.endsWith(':*') && scope.startsWith(held.slice(0, -1)) && scope.length > held.length - 1)));
}

/**
 * What the upstream acted on, outside the operation's contract: path, query and header
 * parameters as the upstream parsed them (a query parameter the operation does not declare, or
 * a scalar one given twice, is outside it: the gateway refuses both), and the body fields its
 * handler bound.
 */
export function contractProblems(operation: ContractOperation, report: UpstreamReport): string[] {
  const problems: string[] = [];
  const query = { ...report.query };
  for (const parameter of operation.parameters) {
    const where = `${parameter.in} parameter ${parameter.name}`;
    let value: string | string[] | null | undefined;
    if (parameter.in === 'path') value = report.pathParameters[parameter.name];
    else if (parameter.in === 'header') value = report.lookups[parameter.name.toLowerCase()];
    else {
      value = query[parameter.name];
      delete query[parameter.name];
    }
    if (value === undefined || value === null) {
      if (parameter.required) problems.push(`${where} is required but the upstream did not receive it`);
      continue;
    }
    if (Array.isArray(value)) problems.push(`${where} reached the upstream ${value.length} times: ${JSON.stringify(value)}`);
    else problems.push(...valueProblems(textValue(value), parameter.schema, where));
  }
  for (const name of Object.keys(query)) problems.push(`query parameter ${JSON.stringify(name)} (${JSON.stringify(query[name])}) is not declared by ${operation.id}`);
  if (operation.body !== null) {
    if (report.body === null) {
      if (operation.body.required) problems.push('the body is required but the upstream parsed none');
    } else problems.push(...objectProblems(report.body, operation.body.schema, 'body'));
  }
  return problems;
}
