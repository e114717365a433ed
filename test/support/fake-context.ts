import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { parseIpAddress, type IpAddress } from '../../src/http/ip-address.ts';
import type { KeyRecord } from '../../src/keys/key-record.ts';
import type { PolicyParts } from '../../src/policies/policy.ts';
import type { RequestContext, RequestHeaderReader } from '../../src/policies/request-context.ts';
import type { CachedKey } from '../../src/verify/key-verifier.ts';

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
  /**
   * The body `req` streams, in these chunks, then ends (`req.complete` is then true). Content-Length
   * or Transfer-Encoding are not added: say them in `headers`, as the client would.
   */
  body?: string | Buffer | ReadonlyArray<string | Buffer>;
  /**
   * A TLS connection: whether the CA verified the client certificate, and its `fingerprint256`
   * as Node gives it (`AB:CD:…`). Without it, `req.socket` is a plain TCP socket.
   */
  tls?: { authorized: boolean; fingerprint256: string | null };
}

/** A response that records what a check sets on it, and can be ended. */
export interface FakeResponse {
  readonly headers: Record<string, string | number | readonly string[]>;
  statusCode: number;
  /** The header list passed to `writeHead`, as given; null until it is called. */
  head: string[] | null;
  ended: boolean;
}

/**
 * A request context for a check's unit test: what the engine would have made of a request
 * before the first check (path, client, scanned headers), and a response that only records.
 * `req` is a readable stream of `request.body` (empty by default). Override any field with
 * `overrides`.
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
  const req = Object.assign(bodyStream(request.body), { method: request.method ?? 'GET', url, rawHeaders, headers, socket: fakeSocket(request.tls), complete: false });
  req.once('end', () => (req.complete = true));
  const res = fakeResponse(request.responseHeaders ?? {});
  const address = request.address ?? '192.0.2.10';
  const queryStart = url.indexOf('?');
  const context: RequestContext & { res: ServerResponse & FakeResponse } = {
    req: req as unknown as IncomingMessage,
    res,
    now: Date.parse('2026-12-01T12:00:00Z'),
    startedAt: 0,
    requestId: 'test-1',
    method: request.method ?? 'GET',
    clientAddress: address,
    client: { address, ip: parseIpAddress(address) as IpAddress, chain: [address] },
    upstreamPath: url,
    path: queryStart === -1 ? url : url.slice(0, queryStart),
    api: null,
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
    connectionNamed: null,
    underscoreHeaders: null,
    methodOverrideHeaders: null,
    dpop: null,
  };
  return Object.assign(context, overrides);
}

/**
 * The context as the engine's one pass over the request headers leaves it for `reader` (a
 * check's `requestHeaders`): every line of its headers read, in order, and the lines it keeps
 * back left out of `upstreamHeaders`.
 *
 * @example const context = withHeadersRead(fakeContext({ headers: ['X-API-Key', key] }), check.requestHeaders);
 */
export function withHeadersRead<C extends RequestContext>(context: C, reader: RequestHeaderReader): C {
  const raw = context.req.rawHeaders;
  context.upstreamHeaders = [];
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as string;
    const value = raw[index + 1] as string;
    const lowerCaseName = name.toLowerCase();
    const keptBack = reader.names.includes(lowerCaseName) && reader.readHeader(context, lowerCaseName, value);
    if (!keptBack) context.upstreamHeaders.push(name, value);
  }
  return context;
}

function bodyStream(body: FakeRequest['body']): Readable {
  const chunks = (body === undefined ? [] : typeof body === 'string' || Buffer.isBuffer(body) ? [body] : [...body]).map((chunk) => Buffer.from(chunk));
  return new Readable({
    read() {
      this.push(chunks.shift() ?? null);
    },
  });
}

function fakeSocket(tls: FakeRequest['tls']): Socket {
  const socket = new Socket();
  if (tls === undefined) return socket;
  const certificate = tls.fingerprint256 === null ? {} : { fingerprint256: tls.fingerprint256 };
  return Object.assign(socket, { encrypted: true, authorized: tls.authorized, getPeerCertificate: () => certificate });
}

function fakeResponse(initial: Record<string, string>): ServerResponse & FakeResponse {
  const recorded: FakeResponse = { headers: { ...initial }, statusCode: 200, head: null, ended: false };
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
      if (Array.isArray(headers)) {
        res.head = [...(headers as readonly string[])];
        for (let index = 0; index < headers.length; index += 2) res.headers[(headers[index] as string).toLowerCase()] = headers[index + 1] as string;
      }
      return res;
    },
    end() {
      res.ended = true;
      return res;
    },
  };
  // An emitter too, so a check can listen for the response's 'close' (and a test emit it).
  Object.setPrototypeOf(res, EventEmitter.prototype);
  return res as unknown as ServerResponse & FakeResponse;
}

/**
 * A key as the verifier hands it to the checks, for a record with these fields (an active key
 * without limits, scopes or restrictions otherwise).
 *
 * @example fakeKey({ scopes: ['orders:read'] })
 */
export function fakeKey(record: Partial<KeyRecord> = {}): CachedKey {
  const full: KeyRecord = {
    id: 'key_test',
    name: 'test key',
    digest: '0'.repeat(64),
    displayPrefix: 'pcl_Test',
    tags: [],
    scopes: [],
    allowedCidrs: [],
    certFingerprint: null,
    signingKey: null,
    apis: [],
    leakAction: null,
    rateLimit: null,
    quota: null,
    metadata: {},
    createdAt: Date.parse('2026-01-01T00:00:00Z'),
    updatedAt: Date.parse('2026-01-01T00:00:00Z'),
    expiresAt: null,
    revokedAt: null,
    revokedReason: null,
    quarantinedAt: null,
    quarantinedReason: null,
    rotatedTo: null,
    lastUsedAt: null,
    lastUsedAddress: null,
    ...record,
  };
  return { record: full, nameHeaderValue: full.name, usageBucket: null, cacheSlot: null };
}

/** One line a recording logger received. */
export interface LoggedLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  object: unknown;
  message: string | undefined;
}

/** A logger that keeps what it is told, for tests that check what a policy logs. */
export function recordingLogger(): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at = (level: LoggedLine['level']) => (object: unknown, message?: string) => void lines.push({ level, object, message });
  const logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger };
  return { logger: logger as unknown as Logger, lines };
}

/**
 * The parts a policy's `create` receives, for its unit test. A part the test does not give is a
 * stand-in that throws when the policy touches it, so a test also shows which parts a policy uses.
 *
 * @example policy.create(config, fakeParts({ routes: null }))
 */
export function fakeParts(parts: Partial<PolicyParts> = {}): PolicyParts {
  const logger = parts.logger ?? recordingLogger().logger;
  return {
    logger,
    // Every report logged, so a test sees each one (the process counts repeats instead).
    repeatedErrors: (message) => (error) => logger.error({ err: error }, message),
    verifier: notGiven('verifier'),
    store: notGiven('store'),
    routes: null,
    limiter: notGiven('limiter'),
    quotas: notGiven('quotas'),
    tokenKeys: notGiven('tokenKeys'),
    ...parts,
  };
}

function notGiven<T>(part: string): T {
  return new Proxy({}, {
    get(_target, property) {
      throw new Error(`the policy used parts.${part}.${String(property)}, which the test did not give it`);
    },
  }) as T;
}
