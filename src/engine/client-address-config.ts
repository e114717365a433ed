import type { ConfigFragment } from '../config/config-fragment.ts';
import { cidrList } from '../config/option-schemas.ts';

export interface ClientAddressConfig {
  trustProxy: string[];
  clientAddressHeader: string;
  forwardedHeader: boolean;
}

/** Who the client is behind proxies (stage 2), and what the upstream is told of the forwarding chain. */
export const clientAddressConfig: ConfigFragment<{ network: ClientAddressConfig }> = {
  options: {
    'network.trustProxy': cidrList('--trust-proxy', 'Proxies (load balancers) whose client-address header is believed. Only when the connection comes from one of these is the client taken from that header: the rightmost address that is not itself a trusted proxy. Empty: the socket address is always the client.'),
    'network.clientAddressHeader': { type: 'string', format: 'header-name', default: 'x-forwarded-for', description: 'Header a trusted proxy names the client in: `x-forwarded-for`, `forwarded` (RFC 7239), or a single-value header such as `x-real-ip` (believed only when sent exactly once).' },
    'network.forwardedHeader': { type: 'boolean', default: false, description: 'Also send the upstream an RFC 7239 `Forwarded` header (`for=` the chain, `proto`, `host`). `X-Forwarded-For` is always sent.' },
  },
  read(document) {
    const { network } = document as unknown as { network: ClientAddressConfig };
    return { network: { trustProxy: network.trustProxy, clientAddressHeader: network.clientAddressHeader.toLowerCase(), forwardedHeader: network.forwardedHeader } };
  },
};
