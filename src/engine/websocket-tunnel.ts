import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Pool, type Dispatcher } from 'undici';
import { denial, type Denial } from '../http/error-catalogue.ts';
import { sendProblem } from '../http/problem-response.ts';
import { keyStatus } from '../keys/key-record.ts';
import type { KeyEvent } from '../store/key-store.ts';
import { CollectedMetric } from '../telemetry/fast-metrics.ts';
import type { UsageRecorder } from '../telemetry/usage-recorder.ts';
import type { CachedKey, KeyVerifier } from '../verify/key-verifier.ts';
import type { Exchange } from './exchange.ts';
import type { RequestHandler, Upstream } from './pipeline.ts';
import { buildClientResponseHeaders } from './response-headers.ts';
import { basePathOf } from './upstream-config.ts';
import type { WebSocketSettings } from './websocket-config.ts';
import { declaresBody, handshakeProblem, isWebSocketUpgrade, namesExtension, switchingProtocolsHead, withoutExtensionOffer } from './websocket-handshake.ts';
import { WebSocketRelay } from './websocket-relay.ts';

/** Where one API's WebSockets go: the same origins, TLS options and timeouts as its requests. */
export interface TunnelTarget {
  origins: readonly URL[];
  connect?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean } | undefined;
  connectTimeout: number;
  headersTimeout: number;
}

interface WebSocketTunnelOptions {
  settings: WebSocketSettings;
  /** One per API, in the order of `exchange.api.index`. */
  targets: readonly TunnelTarget[];
  verifier: KeyVerifier;
  registry: Registry;
  logger: Logger;
  /** Per-key usage: WebSockets opened and the most open at once, per minute (usage-recorder.ts). */
  usage?: Pick<UsageRecorder, 'recordWebSocketOpened' | 'recordWebSocketsOpen'>;
}

const MINUTE = 60_000;

/** Close codes (RFC 6455 §7.4.1): the key no longer allows it; unused too long or the node stops; the node cannot vouch for keys. */
const POLICY_VIOLATION = 1008;
const GOING_AWAY = 1001;
const TRY_AGAIN_LATER = 1013;

const WEBSOCKET_LIMIT = denial('websocket_limit', null, [['retry-after', '5']]);
const UPGRADE_WITH_BODY = denial('request_invalid', 'An upgrade request with a body is not forwarded.');
const UPSTREAM_REFUSED = denial('upstream_unavailable', 'The upstream did not accept the WebSocket.');

interface TargetPools {
  pools: Pool[];
  basePath: string;
  next: number;
}

/** An open WebSocket and the key it was opened with (null without a key); the key is replaced by the feed's fresher copy. */
interface OpenTunnel {
  relay: WebSocketRelay;
  key: CachedKey | null;
}

/**
 * WebSockets through the gateway. An upgrade request reaches the one pipeline on a response
 * object of its own (`handleUpgrade`), so it is judged as any request is; this object is the
 * pipeline's stage 10 (`Upstream`), and sends the upgrade requests on to the API's upstream
 * itself (every other request to the proxy it wraps). On the upstream's 101 it answers 101 and
 * relays both sockets (websocket-relay.ts). It counts open WebSockets per key, refuses one
 * too many, and closes a key's WebSockets with 1008 when the change feed says the key was
 * revoked or quarantined, or when it expires.
 */
export class WebSocketTunnels implements Upstream {
  readonly #inner: Upstream;
  readonly #settings: WebSocketSettings;
  readonly #targets: readonly TunnelTarget[];
  readonly #pools: Array<TargetPools | undefined> = [];
  readonly #verifier: KeyVerifier;
  readonly #logger: Logger;
  /** Upgrade requests that passed the handshake checks, on their way through the pipeline. */
  readonly #upgrades = new WeakSet<IncomingMessage>();
  /** WebSockets per key id, handshakes in progress included (the limit counts them). */
  readonly #counts = new Map<string, number>();
  readonly #open = new Map<WebSocketRelay, OpenTunnel>();
  /** Open WebSockets per key id (upgraded, not closed yet): what usage calls open. */
  readonly #openPerKey = new Map<string, number>();
  readonly #usage: NonNullable<WebSocketTunnelOptions['usage']> | null;
  /** The minute the open counts were last told to usage in (the sweep tells them once a minute). */
  #usageMinute = 0;
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(inner: Upstream, options: WebSocketTunnelOptions) {
    this.#inner = inner;
    this.#settings = options.settings;
    this.#targets = options.targets;
    this.#verifier = options.verifier;
    this.#logger = options.logger;
    this.#usage = options.usage ?? null;
    new CollectedMetric(options.registry, 'portcullis_websockets_open', 'Open WebSockets through this node, by key id (`none`: opened without a key).', 'gauge', () => this.#openByKey());
    // Idle time and expiry are checked by one timer for every WebSocket, not one timer each.
    this.#sweep = setInterval(() => this.#sweepOpen(), Math.max(10, Math.min(1000, Math.floor(options.settings.idleTimeout / 4))));
    this.#sweep.unref();
  }

  /**
   * The listener's `upgrade` event. A WebSocket upgrade whose own fields are sound goes down the
   * pipeline (`handler`) like any request, on a response written to its socket; any other
   * upgrade (`h2c`) is an ordinary request whose `Upgrade` is ignored (RFC 9110 §7.8). Either
   * way the connection closes after a refusal or an ordinary response.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, handler: RequestHandler): void {
    if (this.#closed) return void socket.destroy();
    if (head.length > 0) socket.unshift(head);
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => socket.end());
    if (!isWebSocketUpgrade(req)) {
      if (declaresBody(req)) return sendProblem(res, UPGRADE_WITH_BODY);
      return handler(req, res);
    }
    const problem = handshakeProblem(req);
    if (problem !== null) return sendProblem(res, problem);
    this.#upgrades.add(req);
    handler(req, res);
  }

  forward(exchange: Exchange, headers: string[]): void {
    if (!this.#upgrades.has(exchange.req)) return this.#inner.forward(exchange, headers);
    const keyId = exchange.key === null ? null : exchange.key.record.id;
    if (keyId !== null && (this.#counts.get(keyId) ?? 0) >= this.#settings.maxPerKey) return this.#refuse(exchange, WEBSOCKET_LIMIT);
    if (keyId !== null) this.#counts.set(keyId, (this.#counts.get(keyId) ?? 0) + 1);
    const target = this.#poolsFor(exchange.api === null ? 0 : exchange.api.index);
    const pool = target.pools[target.next++ % target.pools.length] as Pool;
    exchange.watchClient();
    const request: Dispatcher.DispatchOptions = { path: target.basePath + exchange.upstreamPath, method: 'GET', headers: withoutExtensionOffer(headers), upgrade: 'websocket' };
    exchange.upstreamRequest = request;
    try {
      pool.dispatch(request, new TunnelHandshake(this, exchange, keyId));
    } catch (error) {
      this.releaseSlot(keyId);
      throw error;
    }
  }

  // The exchange's upstream leg: for an upgrade, nothing of the wrapped proxy's (its origin balancer never saw it).
  mayResendAfter(code: string, exchange: Exchange): boolean {
    return !this.#upgrades.has(exchange.req) && this.#inner.mayResendAfter(code, exchange);
  }

  resend(exchange: Exchange, error: Error): void {
    this.#inner.resend(exchange, error);
  }

  answered(exchange: Exchange): void {
    if (!this.#upgrades.has(exchange.req)) this.#inner.answered(exchange);
  }

  failed(exchange: Exchange, error: Error): void {
    if (!this.#upgrades.has(exchange.req)) this.#inner.failed(exchange, error);
    else this.#logger.debug({ err: error, reqId: exchange.requestId }, 'WebSocket upgrade could not reach the upstream');
  }

  released(exchange: Exchange): void {
    if (!this.#upgrades.has(exchange.req)) this.#inner.released(exchange);
  }

  /** A WebSocket of the key (or its handshake) is over: one fewer counts against `maxPerKey`. */
  releaseSlot(keyId: string | null): void {
    if (keyId === null) return;
    const count = (this.#counts.get(keyId) ?? 1) - 1;
    if (count <= 0) this.#counts.delete(keyId);
    else this.#counts.set(keyId, count);
  }

  /** The upstream's 101: answer the client's, then relay. Anything else is refused with 502 and both sockets closed. */
  upgraded(exchange: Exchange, keyId: string | null, statusCode: number, rawHeaders: ReadonlyArray<Buffer | string>, upstream: Duplex): void {
    exchange.settled = true;
    exchange.respondedAt = performance.now();
    exchange.upstreamStatus = statusCode;
    const client = exchange.req.socket;
    const headers = buildClientResponseHeaders(rawHeaders);
    if (statusCode !== 101 || namesExtension(headers) || client.destroyed || this.#closed) {
      upstream.destroy();
      this.releaseSlot(keyId);
      if (!client.destroyed) sendProblem(exchange.res, UPSTREAM_REFUSED, exchange.requestId);
      exchange.settings.observer.exchangeFinished(exchange, UPSTREAM_REFUSED, null);
      return;
    }
    for (const name of exchange.res.getHeaderNames()) if (name !== 'connection') headers.push(name, String(exchange.res.getHeader(name)));
    const extra = exchange.responseHeaders;
    if (extra !== null) headers.push(...extra);
    exchange.res.detachSocket(client);
    exchange.res.statusCode = 101;
    client.write(switchingProtocolsHead(headers));
    const relay = new WebSocketRelay(client, upstream, { maxMessageSize: this.#settings.maxMessageSize, onClosed: (closed) => this.#relayClosed(closed, keyId) });
    this.#open.set(relay, { relay, key: exchange.key });
    if (keyId !== null) {
      const open = (this.#openPerKey.get(keyId) ?? 0) + 1;
      this.#openPerKey.set(keyId, open);
      this.#usage?.recordWebSocketOpened(keyId, Date.now(), open);
    }
    exchange.settings.observer.exchangeFinished(exchange, null, null);
  }

  /** Told of every batch of key changes (change-feed-follower.ts): a key with open WebSockets is read again. */
  keysChanged(events: readonly KeyEvent[]): void {
    if (this.#open.size === 0) return;
    const changed = new Set(events.map((event) => event.keyId));
    const seen = new Set<string>();
    for (const tunnel of this.#open.values()) {
      const key = tunnel.key;
      if (key === null || !changed.has(key.record.id) || seen.has(key.record.id)) continue;
      seen.add(key.record.id);
      this.#recheck(key);
    }
  }

  /** Closes every WebSocket (1001) and the upgrade pools; later upgrades are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const tunnel of this.#open.values()) tunnel.relay.close(GOING_AWAY, 'gateway shutting down');
    await Promise.all(this.#pools.flatMap((target) => (target === undefined ? [] : target.pools.map((pool) => pool.close()))));
  }

  /** The key as the verifier now has it (the feed has applied the change), then its verdict on the key's WebSockets. */
  #recheck(key: CachedKey): void {
    let current: ReturnType<KeyVerifier['current']>;
    try {
      current = this.#verifier.current(key);
    } catch (error) {
      return this.#logger.warn({ err: error, keyId: key.record.id }, 'WebSocket key could not be read again');
    }
    if (current instanceof Promise) {
      current.then((fresh) => this.#judge(key.record.id, fresh), (error: unknown) => this.#logger.warn({ err: error, keyId: key.record.id }, 'WebSocket key could not be read again'));
    } else this.#judge(key.record.id, current);
  }

  #judge(keyId: string, fresh: CachedKey | null): void {
    const status = fresh === null ? 'revoked' : keyStatus(fresh.record, Date.now());
    for (const tunnel of this.#open.values()) {
      if (tunnel.key === null || tunnel.key.record.id !== keyId) continue;
      if (status !== 'active') tunnel.relay.close(POLICY_VIOLATION, `key ${status}`);
      else tunnel.key = fresh;
    }
  }

  #sweepOpen(): void {
    if (this.#open.size === 0) return;
    const now = performance.now();
    const wallNow = Date.now();
    this.#tellOpenCounts(wallNow);
    const storeOutOfReach = wallNow > this.#verifier.freshUntil;
    for (const { relay, key } of this.#open.values()) {
      if (relay.closing) continue;
      if (key !== null && key.record.expiresAt !== null && key.record.expiresAt <= wallNow) relay.close(POLICY_VIOLATION, 'key expired');
      else if (key !== null && storeOutOfReach) relay.close(TRY_AGAIN_LATER, 'key store out of reach');
      else if (now - relay.lastActivity >= this.#settings.idleTimeout) relay.close(GOING_AWAY, 'idle timeout');
    }
  }

  #relayClosed(relay: WebSocketRelay, keyId: string | null): void {
    this.#open.delete(relay);
    this.releaseSlot(keyId);
    if (keyId === null) return;
    const open = (this.#openPerKey.get(keyId) ?? 1) - 1;
    if (open <= 0) this.#openPerKey.delete(keyId);
    else this.#openPerKey.set(keyId, open);
  }

  /**
   * Once in each minute, the open count of every key with open WebSockets, so a minute in
   * which a key opened none still has its peak (opening one tells usage the new count itself).
   */
  #tellOpenCounts(wallNow: number): void {
    const usage = this.#usage;
    const minute = wallNow - (wallNow % MINUTE);
    if (usage === null || minute === this.#usageMinute) return;
    this.#usageMinute = minute;
    for (const [keyId, open] of this.#openPerKey) usage.recordWebSocketsOpen(keyId, wallNow, open);
  }

  #refuse(exchange: Exchange, problem: Denial): void {
    sendProblem(exchange.res, problem, exchange.requestId);
    exchange.settings.observer.exchangeFinished(exchange, problem, null);
  }

  /** An API's upgrade pools, made at its first WebSocket: an upgraded connection leaves its pool, so they hold handshakes only. */
  #poolsFor(index: number): TargetPools {
    let target = this.#pools[index];
    if (target !== undefined) return target;
    const { origins, connect, connectTimeout, headersTimeout } = this.#targets[index] as TunnelTarget;
    const options: Pool.Options = { pipelining: 1, connectTimeout, headersTimeout, ...(connect ? { connect } : {}) };
    target = { pools: origins.map((origin) => new Pool(origin.origin, options)), basePath: basePathOf(origins[0] as URL), next: 0 };
    this.#pools[index] = target;
    return target;
  }

  #openByKey(): Array<{ value: number; labels: Record<string, string> }> {
    const byKey = new Map<string, number>();
    for (const { key } of this.#open.values()) {
      const id = key === null ? 'none' : key.record.id;
      byKey.set(id, (byKey.get(id) ?? 0) + 1);
    }
    return [...byKey].map(([id, value]) => ({ value, labels: { key_id: id } }));
  }
}

/**
 * undici's handler for one upgrade request: a 101 goes to `upgraded`; any other answer (the
 * upstream refused the WebSocket) is relayed to the client by the exchange, as any response is.
 */
class TunnelHandshake implements Dispatcher.DispatchHandler {
  readonly #tunnels: WebSocketTunnels;
  readonly #exchange: Exchange;
  readonly #keyId: string | null;

  constructor(tunnels: WebSocketTunnels, exchange: Exchange, keyId: string | null) {
    this.#tunnels = tunnels;
    this.#exchange = exchange;
    this.#keyId = keyId;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#exchange.onRequestStart(controller);
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, socket: Duplex): void {
    this.#tunnels.upgraded(this.#exchange, this.#keyId, statusCode, (controller.rawHeaders ?? []) as Array<Buffer | string>, socket);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#exchange.onResponseStart(controller, statusCode);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#exchange.onResponseData(controller, chunk);
  }

  onResponseEnd(): void {
    this.#tunnels.releaseSlot(this.#keyId);
    this.#exchange.onResponseEnd();
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#tunnels.releaseSlot(this.#keyId);
    this.#exchange.onResponseError(controller, error);
  }
}
