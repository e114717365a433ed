/** Methods a proxied API may receive. CONNECT tunnels and TRACE (cross-site tracing) never pass. */
export const FORWARDED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'] as const;
