import { Pool, type Dispatcher } from 'undici';
import { continueIfAwaited } from '../http/expect-continue.ts';
import type { Exchange } from './exchange.ts';

export interface UpstreamOptions {
  url: URL;
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  /** TLS options for an https:// upstream (CA, client certificate, servername, verification). */
  connect?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean };
}

/** Streams requests to one upstream origin over a keep-alive pool; each exchange is its own undici handler (exchange.ts). */
export class UpstreamProxy {
  readonly #pool: Pool;
  readonly #basePath: string;

  constructor(options: UpstreamOptions) {
    this.#pool = new Pool(options.url.origin, {
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectTimeout,
      keepAliveTimeout: options.keepAliveTimeout,
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
      ...(options.connect ? { connect: options.connect } : {}),
    });
    this.#basePath = options.url.pathname === '/' ? '' : options.url.pathname.replace(/\/$/, '');
  }

  /**
   * Sends the request (path already checked) with `headers` and streams the answer into the
   * response. The body is `exchange.forwardBody` when a check replaced it (read for validation,
   * or size-limited), else the request itself when it has one. The path is exactly the one the
   * route table matched (`upstreamPath`, canonical), under the upstream URL's base path.
   */
  forward(exchange: Exchange, headers: string[]): void {
    const body = exchange.forwardBody ?? (exchange.hasBody ? exchange.req : null);
    // Every check has passed: a client waiting on Expect: 100-continue may send the body now.
    if (exchange.hasBody) continueIfAwaited(exchange.res);
    exchange.watchClient();
    this.#pool.dispatch({ path: this.#basePath + exchange.upstreamPath, method: exchange.req.method as Dispatcher.HttpMethod, headers, body }, exchange);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
