import { forwardedNodeValue } from '../http/forwarding-chain.ts';

/**
 * Adds the gateway's own request headers to the client's: the forwarding chain it vouches for
 * (client, trusted proxies, socket peer; see client-address.ts), the scheme and host the client
 * used, the request id, and the authenticated key's identity. Only the gateway may assert these.
 */
export function appendGatewayHeaders(
  headers: string[],
  chain: readonly string[],
  protocol: 'http' | 'https',
  host: string | undefined,
  requestId: string,
  key: { readonly record: { readonly id: string }; readonly nameHeaderValue: string } | null,
  forwardedHeader: boolean,
): void {
  headers.push('x-forwarded-for', chain.length === 1 ? (chain[0] as string) : chain.join(', '), 'x-forwarded-proto', protocol, 'x-request-id', requestId);
  if (host !== undefined) headers.push('x-forwarded-host', host);
  if (forwardedHeader) headers.push('forwarded', forwardedValue(chain, protocol, host));
  if (key !== null) headers.push('x-portcullis-key-id', key.record.id, 'x-portcullis-key-name', key.nameHeaderValue);
}

const HOST_VALUE = /^[A-Za-z0-9.:[\]-]{1,255}$/;

/**
 * RFC 7239 `Forwarded`: one element per address of the chain; the last (this hop's own view
 * of the request) also carries `proto` and, when it is a plain host name, `host`.
 */
function forwardedValue(chain: readonly string[], protocol: 'http' | 'https', host: string | undefined): string {
  const elements = chain.map((address) => `for=${forwardedNodeValue(address)}`);
  const hostPart = host !== undefined && HOST_VALUE.test(host) ? `;host="${host}"` : '';
  elements[elements.length - 1] += `;proto=${protocol}${hostPart}`;
  return elements.join(', ');
}
