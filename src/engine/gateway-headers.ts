import { forwardedNodeValue } from '../http/forwarding-chain.ts';
import type { REPEATED_HEADER } from '../http/raw-headers.ts';

/**
 * Adds the gateway's own request headers to the client's: the forwarding chain it vouches for
 * (client, trusted proxies, socket peer; see client-address.ts), the scheme and host the client
 * used, the request id, and the authenticated key's identity. Only the gateway may assert these.
 * The host is the client's `Host`, which stage 1 has validated (http/host-header.ts) and
 * refused when repeated; a host that is not a single string is left out.
 */
export function appendGatewayHeaders(
  headers: string[],
  chain: readonly string[],
  protocol: 'http' | 'https',
  host: string | undefined | typeof REPEATED_HEADER,
  requestId: string,
  key: { readonly record: { readonly id: string }; readonly nameHeaderValue: string } | null,
  forwardedHeader: boolean,
): void {
  headers.push('x-forwarded-for', chain.length === 1 ? (chain[0] as string) : chain.join(', '), 'x-forwarded-proto', protocol, 'x-request-id', requestId);
  const singleHost = typeof host === 'string' ? host : undefined;
  if (singleHost !== undefined) headers.push('x-forwarded-host', singleHost);
  if (forwardedHeader) headers.push('forwarded', forwardedValue(chain, protocol, singleHost));
  if (key !== null) headers.push('x-portcullis-key-id', key.record.id, 'x-portcullis-key-name', key.nameHeaderValue);
}

/** What a validated Host may hold (http/host-header.ts); checked again so a quoted-string can never be broken out of. */
const HOST_VALUE = /^[A-Za-z0-9._~:[\]-]{1,261}$/;

/**
 * RFC 7239 `Forwarded`: one element per address of the chain; the last (this hop's own view
 * of the request) also carries `proto` and `host`.
 */
function forwardedValue(chain: readonly string[], protocol: 'http' | 'https', host: string | undefined): string {
  const elements = chain.map((address) => `for=${forwardedNodeValue(address)}`);
  const hostPart = host !== undefined && HOST_VALUE.test(host) ? `;host="${host}"` : '';
  elements[elements.length - 1] += `;proto=${protocol}${hostPart}`;
  return elements.join(', ');
}
