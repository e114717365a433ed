import { ConfigError } from '../config/config-error.ts';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration } from '../config/option-schemas.ts';
import { parseByteSize, parseDuration } from '../http/units.ts';

export interface WebSocketSettings {
  /** Whether WebSocket upgrades are tunnelled at all (off by default). */
  enabled: boolean;
  /** Largest message, in bytes, in either direction. */
  maxMessageSize: number;
  /** A tunnel with no byte in either direction for this long (ms) is closed. */
  idleTimeout: number;
  /** Open WebSockets one key may hold on this node. */
  maxPerKey: number;
}

interface RawWebSockets {
  websockets: { enabled: boolean; maxMessageSize: string | number; idleTimeout: string | number; maxPerKey: number };
}

/** WebSockets through the gateway (engine/websocket-tunnel.ts): off unless turned on, with limits. */
export const websocketConfig: ConfigFragment<{ websockets: WebSocketSettings }> = {
  options: {
    'websockets.enabled': { type: 'boolean', default: false, description: 'Tunnel WebSocket upgrades (`GET` with `Upgrade: websocket`) to the upstream once the upgrade request has passed every check, as any request does (networks, key, route and scopes, limits, validation of its query and headers). Off: the `Upgrade` header is dropped as hop-by-hop and the request is forwarded as a plain `GET`, so no protocol switch happens. The messages of an open WebSocket are not validated nor rate limited, only bounded by the limits below; see docs/security.md.' },
    'websockets.maxMessageSize': { type: ['string', 'integer'], format: 'byte-size', default: '1mb', description: 'Largest WebSocket message (all its fragments together), in either direction. A bigger one is not relayed: the WebSocket is closed with code 1009.' },
    'websockets.idleTimeout': duration('A WebSocket with no frame in either direction for this long is closed (code 1001).', '5m'),
    'websockets.maxPerKey': { type: 'integer', minimum: 1, default: 20, description: 'WebSockets one key may hold open on one gateway node (each worker process counts its own). One more is refused with 429 `websocket_limit`.' },
  },
  read(document) {
    const { websockets } = document as unknown as RawWebSockets;
    const idleTimeout = parseDuration(websockets.idleTimeout) as number;
    // A tunnel that may stay open for ever, unused, holds two sockets for ever.
    if (idleTimeout === 0) throw new ConfigError(['websockets.idleTimeout: expected a duration above 0, found 0']);
    return {
      websockets: {
        enabled: websockets.enabled,
        maxMessageSize: parseByteSize(websockets.maxMessageSize) as number,
        idleTimeout,
        maxPerKey: websockets.maxPerKey,
      },
    };
  },
};
