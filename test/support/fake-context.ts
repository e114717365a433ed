import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { parseIpAddress, type IpAddress } from '../../src/http/ip-address.ts';
import type { RequestContext } from '../../src/policies/request-context.ts';

export interface FakeRequest {
  method?: string;
  /** The request target as sent (`/orders?x=1`). */
  url?: string;
  /** Raw header lines, flat name/value pairs, as `req.rawHeaders` has them. */
  headers?: string[];
  /** The resolved client address. */
  address?: string;
  /** What `context.res` answers and records (`getHeader`, `setHeader`). */
  responseHeaders?: Record<string, string>;
}

/** A response that records what a check sets on it, and can be ended. */
export interface FakeResponse {
  readonly headers: Record<string, string | number | readonly string[]>;
  statusCode: number;
  ended: boolean;
}

/**
 * A request context for a check's unit test: what the engine would have made of a request
 * before the first check (path, client, scanned headers), and a response that only records.
 * Override any field with `overrides`.
 *
 * @example
 * const context = fakeContext({ url: '/orders', headers: ['Content-Type', 'application/json'] }, { key: someKey });
 */
export function fakeContext(request: FakeRequest = {}, overrides: Partial<RequestContext> = {}): RequestContext & { res: ServerResponse & FakeResponse } {
  const url = request.url ?? '/';
  const rawHeaders = request.headers ?? [];
  const headers: Record<string, string> = {};
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = (rawHeaders[index] as string).toLowerCase();
    if (!(name in headers)) headers[name] = rawHeaders[index + 1] as string;
  }
  const socket = new Socket();
  const req = { method: request.method ?? 'GET', url, rawHeaders, headers, socket, resume: () => req } as unknown as IncomingMessage;
  const res = fakeResponse(request.responseHeaders ?? {});
  const address = request.address ?? '192.0.2.10';
  const queryStart = url.indexOf('?');
  const context: RequestContext & { res: ServerResponse & FakeResponse } = {
    req,
    res,
    now: Date.parse('2026-12-01T12:00:00Z'),
    startedAt: 0,
    requestId: 'test-1',
    clientAddress: address,
    client: { address, ip: parseIpAddress(address) as IpAddress, chain: [address] },
    upstreamPath: url,
    path: queryStart === -1 ? url : url.slice(0, queryStart),
    key: null,
    presentedKey: null,
    responseHeaders: null,
    operation: null,
    pathParameters: null,
    forwardBody: null,
    upstreamHeaders: [...rawHeaders],
    hasBody: headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0'),
    contentLength: headers['content-length'],
    chunked: headers['transfer-encoding'] !== undefined,
    host: headers.host,
    credential: null,
    requestIdHeader: null,
  };
  return Object.assign(context, overrides);
}

function fakeResponse(initial: Record<string, string>): ServerResponse & FakeResponse {
  const recorded: FakeResponse = { headers: { ...initial }, statusCode: 200, ended: false };
  const res: FakeResponse & Record<string, unknown> = {
    ...recorded,
    get headersSent(): boolean {
      return res.ended;
    },
    getHeader: (name: string) => res.headers[name.toLowerCase()],
    setHeader(name: string, value: string | number | readonly string[]) {
      res.headers[name.toLowerCase()] = value;
      return res;
    },
    appendHeader(name: string, value: string) {
      res.headers[name.toLowerCase()] = value;
      return res;
    },
    writeHead(status: number, headers?: readonly string[] | Record<string, string>) {
      res.statusCode = status;
      if (Array.isArray(headers)) for (let index = 0; index < headers.length; index += 2) res.headers[(headers[index] as string).toLowerCase()] = headers[index + 1] as string;
      return res;
    },
    end() {
      res.ended = true;
      return res;
    },
  };
  return res as unknown as ServerResponse & FakeResponse;
}
