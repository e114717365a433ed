/**
 * When the gateway owns CORS, the upstream's own `Access-Control-*` response headers are
 * dropped (two policies would contradict each other), and the gateway's `Vary: Origin`, set
 * on the response before the upstream answered, is kept next to the upstream's `Vary`.
 */
export function withGatewayCors(upstreamHeaders: string[], gatewayVary: string | undefined): string[] {
  const headers: string[] = [];
  let upstreamVary = false;
  for (let index = 0; index < upstreamHeaders.length; index += 2) {
    const name = upstreamHeaders[index] as string;
    const lower = name.toLowerCase();
    if (lower.startsWith('access-control-')) continue;
    if (lower === 'vary') upstreamVary = true;
    headers.push(name, upstreamHeaders[index + 1] as string);
  }
  // Headers set with setHeader lose to a same-named header passed to writeHead: repeat ours in the list.
  if (upstreamVary && gatewayVary !== undefined) headers.push('vary', gatewayVary);
  return headers;
}
