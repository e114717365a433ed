import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.ts';
import { compileOpenApi } from '../openapi/compile-openapi.ts';
import { OpenApiError } from '../openapi/document-set.ts';
import type { CompiledRoutes } from '../policies/policy.ts';
import type { Operation } from '../routes/operation.ts';
import { parsePathTemplate, shapeOf } from '../routes/path-template.ts';
import { RouteTable } from '../routes/route-table.ts';
import { requireAlso } from '../routes/scopes.ts';
import type { RouteRule, RoutesSettings } from './routes-config.ts';

export interface LoadedRoutes extends CompiledRoutes {
  /** Parameters the gateway cannot check (unsupported serialisations), for a start-up warning. */
  readonly unchecked: readonly string[];
  /** Patterns compiled without the Unicode flag, formats and keywords ignored: one line each, for start-up warnings. */
  readonly warnings: readonly string[];
  /** `2.0` when the description was Swagger 2.0, converted to OpenAPI 3.0 at load. */
  readonly convertedFrom: '2.0' | null;
}

interface DescribedOperations {
  operations: Operation[];
  unchecked: string[];
  warnings: string[];
  convertedFrom: '2.0' | null;
}

function routeKey(operation: Pick<Operation, 'method' | 'template' | 'source'>, field: string): string {
  try {
    return `${operation.method} ${shapeOf(parsePathTemplate(operation.template))}`;
  } catch (error) {
    throw new ConfigError([`${field}: ${operation.source}: ${(error as Error).message}`]);
  }
}

/** The `reportOnly` of an operation: the document's and the rule's policies together; absent when none. */
function reportOnlyOf(described: readonly string[], ruled: readonly string[]): Pick<Operation, 'reportOnly'> {
  const names = new Set([...described, ...ruled]);
  return names.size === 0 ? {} : { reportOnly: names };
}

function ruleOperation(rule: RouteRule, index: number): Operation {
  return { method: rule.method, template: rule.path, source: `routes[${index}]`, scopes: requireAlso(null, rule.scopes), maxBodySize: rule.maxBodySize, rate: rule.rate, validation: null, ...reportOnlyOf([], rule.reportOnly) };
}

/** The description's operations; every problem is a ConfigError naming where it is. */
function documentOperations(file: string, config: RoutesSettings): DescribedOperations {
  const { basePath, unknownQueryParameters, refMap, strict, responseChecks } = config.openapi;
  try {
    // Responses are read only for response checks: most descriptions' response schemas are as large as their request schemas.
    const compiled = compileOpenApi(file, { basePath, refuseUnknownQuery: unknownQueryParameters === 'refuse', refMap, strict, responses: responseChecks.sampleRate > 0 });
    return { operations: [...compiled.operations], unchecked: compiled.unchecked, warnings: compiled.warnings, convertedFrom: compiled.convertedFrom };
  } catch (error) {
    if (error instanceof OpenApiError) throw new ConfigError([`openapi.file: ${error.message}`]);
    if (error instanceof ConfigError) throw error;
    throw new ConfigError([`openapi.file: ${file}: ${(error as Error).message}`]);
  }
}

/**
 * The route table from `openapi.file` and `routes`, compiled once at start; null when neither
 * is configured (then every route is allowed, as without this layer). A rule for an operation
 * the document declares adds its scopes, body limit and rate to it; any other rule is a route of
 * its own, without validation. `apiReportOnly`: the policies of the API's `reportOnly`, added to
 * every operation's. Throws ConfigError (exit 2) naming the problem's location.
 */
export function loadRoutes(config: RoutesSettings, apiReportOnly: readonly string[] = []): LoadedRoutes | null {
  if (config.openapi.file === null && config.routes.length === 0) return null;
  const described: DescribedOperations = config.openapi.file === null ? { operations: [], unchecked: [], warnings: [], convertedFrom: null } : documentOperations(config.openapi.file, config);
  const { operations, unchecked, warnings, convertedFrom } = described;
  const documented = new Map<string, number>();
  operations.forEach((operation, index) => documented.set(routeKey(operation, 'openapi.file'), index));
  config.routes.forEach((rule, index) => {
    const position = documented.get(routeKey({ method: rule.method, template: rule.path, source: `routes[${index}]` }, 'routes'));
    if (position === undefined) {
      operations.push(ruleOperation(rule, index));
      return;
    }
    const operation = operations[position] as Operation;
    operations[position] = {
      ...operation,
      source: `${operation.source} and routes[${index}]`,
      scopes: requireAlso(operation.scopes, rule.scopes),
      maxBodySize: rule.maxBodySize ?? operation.maxBodySize,
      rate: rule.rate ?? operation.rate,
      ...reportOnlyOf([...(operation.reportOnly ?? [])], rule.reportOnly),
    };
  });
  // An API's `reportOnly` (apis-config.ts) holds on each of its operations.
  if (apiReportOnly.length > 0) operations.forEach((operation, index) => (operations[index] = { ...operation, ...reportOnlyOf([...(operation.reportOnly ?? [])], apiReportOnly) }));
  try {
    return { table: RouteTable.build(operations), operations, unchecked, warnings, convertedFrom };
  } catch (error) {
    throw new ConfigError([`${config.routes.length > 0 ? 'routes' : 'openapi.file'}: ${(error as Error).message}`]);
  }
}

/** Says at start what the route layer does, and what it cannot check. */
export function logRouteSummary(logger: Logger, routes: LoadedRoutes | null): void {
  if (routes === null) {
    logger.info('no OpenAPI document or route rules: every path and method is forwarded (with a valid key); see docs/security.md');
    return;
  }
  logger.info({ operations: routes.table.size }, 'routes compiled: other paths get 404, other methods 405');
  if (routes.convertedFrom !== null) logger.info({ from: `Swagger ${routes.convertedFrom}` }, 'the OpenAPI description was converted to OpenAPI 3.0 at load');
  for (const parameter of routes.unchecked) logger.warn({ parameter }, 'parameter not validated: its serialisation is not supported');
  for (const finding of routes.warnings) logger.warn({ finding }, 'OpenAPI description: checked differently than written, or not at all');
}
