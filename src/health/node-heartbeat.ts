import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { NodeHeartbeat, NodeHeartbeatStore } from '../store/node-heartbeats.ts';

/** A node not heard from for this many of its own intervals is shown as missing. */
export const MISSING_AFTER_BEATS = 3;
/** Rows of nodes not seen for this long (or 20 of the writer's intervals, if longer) are deleted. */
const PRUNE_AFTER_MS = 3_600_000;
/** The writer prunes at its first beat and then once per this many beats. */
const PRUNE_EVERY_BEATS = 60;

/** Who this process is, as its heartbeat row names it. */
export interface NodeIdentity {
  /** Random per process start, so a restarted process is a new node (and its old row ages out). */
  nodeId: string;
  hostName: string;
  pid: number;
  version: string;
  startedAt: number;
}

/** The version in package.json, one folder above src/ (or dist/, in the installed package). */
function portcullisVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** This process's identity, made once at start. */
export function describeThisNode(now = Date.now()): NodeIdentity {
  return { nodeId: `node_${randomBytes(8).toString('hex')}`, hostName: hostname(), pid: process.pid, version: portcullisVersion(), startedAt: now };
}

export interface NodeHeartbeatOptions {
  identity: NodeIdentity;
  /** `health.heartbeatInterval`, ms. */
  interval: number;
  /** The node's health parts, as the admin API reports them (a JSON object). */
  health: () => Record<string, unknown>;
  /** A beat or a prune that failed (the store out of reach): the next beat tries again. */
  onError: (error: unknown) => void;
}

/**
 * Writes this node's heartbeat row every `interval`, through the store write thread (so no
 * store work runs on the request thread), and now and then deletes the rows of nodes gone for
 * long. A beat asked for while one is being written follows it (one at most), so a change of
 * state (starting to serving) is never lost to a beat already under way.
 */
export class NodeHeartbeatWriter {
  readonly #writes: Pick<NodeHeartbeatStore, 'writeNodeHeartbeat' | 'pruneNodeHeartbeats'>;
  readonly #options: NodeHeartbeatOptions;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  #beats = 0;

  constructor(writes: Pick<NodeHeartbeatStore, 'writeNodeHeartbeat' | 'pruneNodeHeartbeats'>, options: NodeHeartbeatOptions) {
    this.#writes = writes;
    this.#options = options;
  }

  /** Beats now and then every interval. */
  start(): void {
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#options.interval);
    this.#timer.unref();
  }

  /**
   * Writes one heartbeat (and prunes, at every PRUNE_EVERY_BEATS-th); never rejects. While one
   * is being written, the next is written after it, and the promise is of the one under way.
   */
  beat(): Promise<void> {
    if (this.#writing !== null) {
      this.#again = true;
      return this.#writing;
    }
    this.#writing = this.#write().finally(() => {
      this.#writing = null;
      if (this.#again && !this.#stopped) void this.beat();
      this.#again = false;
    });
    return this.#writing;
  }

  /** Stops beating; the row stays, and other nodes see it go missing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#writing;
  }

  async #write(): Promise<void> {
    const { identity, interval, health, onError } = this.#options;
    const now = Date.now();
    const heartbeat: NodeHeartbeat = { ...identity, lastSeen: now, interval, health: health() };
    try {
      await this.#writes.writeNodeHeartbeat(heartbeat);
      if (this.#beats++ % PRUNE_EVERY_BEATS === 0) await this.#writes.pruneNodeHeartbeats(now - Math.max(PRUNE_AFTER_MS, 20 * interval));
    } catch (error) {
      onError(error);
    }
  }
}
