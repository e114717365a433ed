import { request as httpRequest, type Agent as HttpAgent, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** SHA-256 fingerprint (lower-case hex) of the server certificate, on TLS. */
  serverFingerprint: string | null;
  /** Local port of the connection, to tell whether a keep-alive connection was reused. */
  localPort: number | undefined;
}

export interface RawRequestOptions {
  method?: string;
  /** Header lines in order; repeated names are sent as separate lines. */
  headers?: Array<[string, string]>;
  /** Source address of the client socket (a loopback address such as 127.0.0.2). */
  localAddress?: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  agent?: HttpAgent | HttpsAgent | false;
}

/**
 * One request with node:http(s), with control over what the tests need: the socket's source
 * address, repeated header lines, client certificates and the server certificate seen.
 */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const target = new URL(url);
  const isTls = target.protocol === 'https:';
  const send = isTls ? httpsRequest : httpRequest;
  // With an array of header lines Node adds no Host header of its own.
  const lines = options.headers ?? [];
  const rawHeaders: OutgoingHttpHeaders | string[] = (lines.some(([name]) => name.toLowerCase() === 'host') ? lines : [['Host', target.host] as [string, string], ...lines]).flat();
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: rawHeaders,
        agent: options.agent ?? false,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
        ...(isTls ? { ca: options.ca, cert: options.cert, key: options.key, servername: options.servername } : {}),
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const certificate = isTls ? socket.getPeerCertificate() : null;
        const serverFingerprint = certificate?.fingerprint256 ? certificate.fingerprint256.replaceAll(':', '').toLowerCase() : null;
        const localPort = socket.localPort;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, serverFingerprint, localPort }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The problem+json code of a response (asserting it is one). */
export function problemCode(response: RawResponse): string {
  if (response.headers['content-type'] !== 'application/problem+json') throw new Error(`not a problem response (${response.status}): ${response.body.slice(0, 200)}`);
  return (JSON.parse(response.body) as { code: string }).code;
}
