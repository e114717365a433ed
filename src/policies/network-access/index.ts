import type { ConfigFragment } from '../../config/config-fragment.ts';
import { cidrList } from '../../config/option-schemas.ts';
import type { Policy } from '../policy.ts';
import { withReportMode, type ReportOnlySettings } from '../report-only.ts';
import { createNetworkAccessCheck, type NetworkAccessOptions } from './network-access-check.ts';

interface NetworkAccessSettings {
  network: { allow: string[]; deny: string[] };
}

const networkAccessConfig: ConfigFragment<NetworkAccessSettings> = {
  options: {
    'network.allow': cidrList('--allow-ip', 'Client addresses served, as IPv4/IPv6 CIDRs or single addresses (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). Empty: every address. Others get 403 `ip_not_allowed` before any key is looked up. IPv4-mapped IPv6 clients match IPv4 entries.'),
    'network.deny': cidrList('--deny-ip', 'Client addresses refused with 403 `ip_not_allowed`, even when `network.allow` includes them.'),
  },
  read(document) {
    const { network } = document as unknown as NetworkAccessSettings;
    return { network: { allow: network.allow, deny: network.deny } };
  },
};

/** Stage 3: the global network allowlist and denylist; off while both are empty. */
export const networkAccess: Policy<NetworkAccessSettings, { network: NetworkAccessOptions } & ReportOnlySettings> = {
  name: 'network-access',
  stage: 3,
  config: networkAccessConfig,
  create: (config) => withReportMode(createNetworkAccessCheck(config.network), config, 'network-access'),
};
