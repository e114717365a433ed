import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { Command } from 'commander';
import { gatewayConfig, loadConfig, type Config } from '../app/config.ts';
import { apisOf } from '../app/apis-config.ts';
import { loadApiRoutes } from '../app/apis.ts';
import { ConfigError } from '../config/config-error.ts';
import { configFormats } from '../config/config-schema.ts';
import { readListenerCredentials, upstreamConnectOptions } from '../engine/tls-credentials.ts';
import { latestSchemaVersion } from '../store/migrations/index.ts';
import { inspectKeyStore } from '../store/open-key-store.ts';
import { describeStoreLocation, isPostgresLocation } from '../store/store-location.ts';
import { EXIT_USAGE, printJsonObject } from './cli-support.ts';
import { addServeFlags, givenServeFlags } from './serve-flags.ts';

/**
 * `portcullis config check`: everything `serve` loads before it listens, loaded and checked
 * the same way (`nginx -t`): the configuration (file, environment, flags), the OpenAPI
 * document and route rules, the TLS files of every listener and of the upstream hop, and the
 * key store, reached without creating it. Exit 0 when `serve` would start with it, 2 when not.
 */

interface Check {
  check: string;
  ok: boolean;
  /** What was found, for a person. */
  detail: string;
  problems: string[];
}

function attempt(check: string, work: () => string): Check {
  try {
    return { check, ok: true, detail: work(), problems: [] };
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
    return { check, ok: false, detail: `${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems };
  }
}

/** A certificate file's subject and end of validity, for the report. */
function describeCertificate(file: string): string {
  const certificate = new X509Certificate(readFileSync(file));
  return `${file} (${certificate.subject.replace(/\n/g, ', ')}, valid until ${new Date(certificate.validTo).toISOString().slice(0, 10)})`;
}

function checkTls(config: Config): string {
  const found: string[] = [];
  if (config.tls !== null) {
    readListenerCredentials(config.tls);
    found.push(`listener: ${describeCertificate(config.tls.cert)}`);
  }
  for (const api of apisOf(config)) {
    const upstream = api.upstream.tls;
    if (upstream.ca === null && upstream.cert === null) continue;
    upstreamConnectOptions(upstream);
    found.push(`${config.apis.length > 0 ? `upstream of ${api.name}` : 'upstream'}: ${[upstream.ca, upstream.cert].filter((file) => file !== null).join(', ')}`);
  }
  if (config.admin.tls !== null) {
    const { cert, key, clientCa } = config.admin.tls;
    try {
      createSecureContext({ cert: readFileSync(cert), key: readFileSync(key), ...(clientCa === null ? {} : { ca: readFileSync(clientCa) }) });
    } catch (error) {
      throw new ConfigError([`admin.tls: ${cert} and ${key} cannot be used (${(error as Error).message})`]);
    }
    found.push(`admin: ${describeCertificate(cert)}`);
  }
  return found.length === 0 ? 'no TLS files (plain HTTP)' : found.join('; ');
}

function checkRoutes(config: Config): string {
  const several = config.apis.length > 0;
  return apisOf(config).map((api, index) => {
    const routes = loadApiRoutes(api, index, several);
    const described = routes === null
      ? 'no OpenAPI document or route rules: every path and method is forwarded'
      : `${routes.table.size} operation${routes.table.size === 1 ? '' : 's'}${api.routes.openapi.file === null ? '' : ` from ${api.routes.openapi.file}`}${routes.unchecked.length > 0 ? `; ${routes.unchecked.length} parameters not validated` : ''}`;
    return several ? `${api.name}: ${described}` : described;
  }).join('; ');
}

/** The store, reached read-only: a missing SQLite store is fine (serve creates it), an unreachable or newer one is not. */
async function checkStore(config: Config): Promise<Check> {
  const where = describeStoreLocation(config.store);
  try {
    const presence = await inspectKeyStore(config.store);
    if (!presence.present) {
      if (isPostgresLocation(config.store) && /search_path/.test(presence.why)) return { check: 'store', ok: false, detail: where, problems: [`store: ${presence.why}`] };
      return { check: 'store', ok: true, detail: `${where}: no store yet (${presence.why}); serve creates it at first start`, problems: [] };
    }
    if (presence.schemaVersion > latestSchemaVersion) {
      return { check: 'store', ok: false, detail: where, problems: [`store: ${where} has schema version ${presence.schemaVersion}, newer than this Portcullis supports (${latestSchemaVersion}): upgrade Portcullis`] };
    }
    return { check: 'store', ok: true, detail: `${where} (schema version ${presence.schemaVersion}${presence.schemaVersion < latestSchemaVersion ? `; serve migrates it to ${latestSchemaVersion}` : ''})`, problems: [] };
  } catch (error) {
    return { check: 'store', ok: false, detail: where, problems: [`store: ${(error as Error).message}`] };
  }
}

async function runChecks(values: Record<string, unknown> & { config?: string }, flags: ReturnType<typeof addServeFlags>): Promise<{ configFile: string | null; checks: Check[] }> {
  let config: Config | null = null;
  const checks = [
    attempt('config', () => {
      config = loadConfig({ configFile: values.config, flags: givenServeFlags(flags, values) });
      return config.configFile === null ? 'no config file: defaults, environment and flags' : config.configFile;
    }),
  ];
  const loaded = config as Config | null;
  if (loaded === null) return { configFile: null, checks };
  checks.push(attempt('routes', () => checkRoutes(loaded)), attempt('tls', () => checkTls(loaded)), await checkStore(loaded));
  return { configFile: loaded.configFile, checks };
}

export function configCommand(): Command {
  const config = new Command('config');
  const check = config
    .command('check')
    .description('load and check everything serve would (config, OpenAPI document, TLS files, store), without listening; exit 0 or 2')
    .option('--config <file>', 'config file (default ./portcullis.yaml when present)')
    .option('--json', 'print the result as one JSON object');
  // The same flags as serve, so that `config check` checks exactly the command line serve gets.
  const flags = addServeFlags(check, gatewayConfig.options, configFormats(gatewayConfig.fragments));
  check.action(async (values: Record<string, unknown> & { config?: string; json?: boolean }) => {
    const { configFile, checks } = await runChecks(values, flags);
    const ok = checks.every((result) => result.ok);
    if (values.json) printJsonObject({ ok, configFile, checks });
    else {
      const lines = checks.map((result) => `  ${result.ok ? 'ok     ' : 'FAILED '} ${result.check.padEnd(7)} ${result.detail}${result.problems.map((problem) => `\n      - ${problem}`).join('')}`);
      process.stdout.write(`${lines.join('\n')}\n${ok ? 'Configuration OK: serve would start with it.' : 'Configuration NOT OK: serve would refuse to start (exit 2).'}\n`);
    }
    if (!ok) process.exitCode = EXIT_USAGE;
  });
  return config;
}
