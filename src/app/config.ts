import type { ConfigFragment, MergedSettings, SettingsOf } from '../config/config-fragment.ts';
import { ConfigLoader, type ConfigSources, type LoadedFrom } from '../config/load-config.ts';
import { adminConfig } from '../admin/admin-config.ts';
import { clientAddressConfig } from '../engine/client-address-config.ts';
import { listenerConfig } from '../engine/listener-config.ts';
import { upstreamConfig } from '../engine/upstream-config.ts';
import { websocketConfig } from '../engine/websocket-config.ts';
import { healthConfig } from '../health/health-config.ts';
import { reportOnlyConfig } from '../policies/report-only.ts';
import { apisConfig } from './apis-config.ts';
import { redisConfig } from './limiter.ts';
import { PIPELINE_POLICIES } from './pipeline-policies.ts';
import { processConfig } from './process-config.ts';
import { routesConfig } from './routes-config.ts';
import { webhookConfig } from '../webhooks/webhook-config.ts';

/** Every part that owns options: the process's own, the engine's, each policy's (from the ordered list), the admin listener's. */
const CONFIG_FRAGMENTS = [
  listenerConfig,
  processConfig,
  upstreamConfig,
  clientAddressConfig,
  routesConfig,
  apisConfig,
  ...PIPELINE_POLICIES.map((policy) => policy.config).filter((fragment) => fragment !== null),
  reportOnlyConfig,
  websocketConfig,
  healthConfig,
  adminConfig,
  webhookConfig,
  redisConfig,
] as const;

/** The whole configuration, as every fragment read it: one typed tree (`config.network.allow`, `config.tls`, …). */
export type Config = MergedSettings<SettingsOf<(typeof CONFIG_FRAGMENTS)[number]>> & LoadedFrom;

const loader = new ConfigLoader<Config>(CONFIG_FRAGMENTS as readonly ConfigFragment<unknown>[]);

/** The configuration loader of the gateway (its schema, options and formats), for the CLI and the docs generator. */
export const gatewayConfig = loader;

/**
 * Loads the configuration: defaults, then the YAML file, then `PORTCULLIS_*` variables, then
 * flags (each overriding the one before), validated against the schema the fragments make up.
 * Throws ConfigError (exit 2) naming every problem.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  return loader.load(sources);
}

export type { ConfigSources };
