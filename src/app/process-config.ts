import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.ts';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration } from '../config/option-schemas.ts';
import { parseDuration } from '../http/units.ts';
import { isPostgresLocation } from '../store/store-location.ts';

export interface ProcessSettings {
  /** A SQLite file (absolute path) or a `postgres://` URL. */
  store: string;
  workers: number;
  workerBalancing: 'reuse-port' | 'cluster';
  cache: { maxKeys: number; maxUnknown: number; maxVerifiedKeys: number; warmKeys: number };
  changeFeed: { pollInterval: number; staleFor: number };
  usage: { flushInterval: number; retention: number };
  log: { level: string; access: boolean };
}

type RawProcess = Omit<ProcessSettings, 'changeFeed' | 'usage'> & { changeFeed: Record<'pollInterval' | 'staleFor', unknown>; usage: Record<'flushInterval' | 'retention', unknown> };

const milliseconds = (value: unknown) => parseDuration(value) as number;

/** The gateway process itself: its key store, its workers, its caches of the store, usage batches and logs. */
export const processConfig: ConfigFragment<ProcessSettings> = {
  formats: {
    'store-location': {
      expected: 'a SQLite file path or a postgres:// URL',
      documentation: 'A SQLite database file, relative to the working directory (created on first start), or a `postgres://` (or `postgresql://`) URL.',
      validate: (value) => value.trim() !== '' && !value.includes('\0'),
      placeholder: 'path',
    },
  },
  options: {
    store: {
      type: 'string',
      format: 'store-location',
      default: './data/portcullis.db',
      'x-flag': '--store',
      description: 'Key store: a SQLite file path (created on first start), or a `postgres://` URL for several gateway nodes (the schema comes from the URL\'s `options=-c search_path=…`, default `public`). Keep a password out of the URL: use `PGPASSWORD` or `~/.pgpass`, or set this option in the file or environment rather than as a flag.',
    },
    workers: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 1,
      'x-flag': '--workers',
      description: 'Gateway processes on this host, sharing the listen port. Each follows the change feed and batches its own usage writes. With more than 1, the first process supervises the workers and restarts one that dies.',
    },
    workerBalancing: {
      type: 'string',
      enum: ['reuse-port', 'cluster'],
      default: 'reuse-port',
      description: 'How `workers` share the port: `reuse-port` (each worker listens with SO_REUSEPORT and the kernel spreads connections) or `cluster` (the supervisor accepts and hands connections round-robin to workers, `node:cluster`).',
    },
    'cache.maxKeys': { type: 'integer', minimum: 1, default: 100000, description: 'Key records kept in memory (least recently used are evicted and re-read from the store).' },
    'cache.maxUnknown': { type: 'integer', minimum: 0, default: 10000, description: 'Unknown key digests remembered, so repeated bad keys cost no store lookup. Bounded so a flood of random keys cannot grow memory.' },
    'cache.warmKeys': { type: 'integer', minimum: 0, default: 0, description: 'At start, the records of up to this many of the most recently used unrevoked keys are loaded into the key cache (at most `cache.maxKeys`), so a restarted node does not send its first requests for every busy key to the store at once. Read in the background after the node is ready, off the request thread (on SQLite, by the change feed thread); requests meanwhile read through as usual. 0 (the default) turns it off: on the million-key benchmark it cost resident memory without a gain the run could show (docs/benchmarks.md).' },
    'cache.maxVerifiedKeys': { type: 'integer', minimum: 0, default: 10000, description: 'Keys that recently matched a record, remembered in memory with their digest so a repeat request skips the checksum and the SHA-256. Holds plaintext keys in process memory only (never written or logged); only keys that matched a record enter it. 0 turns it off.' },
    'changeFeed.pollInterval': duration('How often a node reads new key events (revocations, rotations) from the store. Bounds revocation delay. On PostgreSQL, LISTEN/NOTIFY wakes nodes at once and polling is the safety net.', '50ms'),
    'changeFeed.staleFor': { ...duration('While the store is unreachable, how long after the change feed last reached it known keys keep working from memory. Past it, they get 503 `store_unavailable` too (fail closed). Revoked keys stay refused and unknown keys get 503 throughout. At least 1s and 4 × `pollInterval`.', '5m'), 'x-flag': '--stale-for' },
    'usage.flushInterval': duration('How often aggregated usage (per-key, per-minute counts and last-used times) is written to the store: one batch, never a write per request.', '5s'),
    'usage.retention': duration('How long per-minute usage is kept in the store; older minutes are deleted about once an hour.', '30d'),
    'log.level': { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'Log level. Logs are JSON lines on stdout; keys never appear in them.' },
    'log.access': { type: 'boolean', default: false, description: 'Log one `request` line per request (request id, method, path without query, status, outcome, key id, client address, duration) at level info. Off by default: it costs a log write per request.' },
  },
  read(document, { cwd, sourceOf }) {
    const raw = document as unknown as RawProcess;
    const changeFeed = { pollInterval: milliseconds(raw.changeFeed.pollInterval), staleFor: milliseconds(raw.changeFeed.staleFor) };
    const minimumStaleFor = Math.max(1000, 4 * changeFeed.pollInterval);
    if (changeFeed.staleFor < minimumStaleFor) {
      const source = sourceOf('changeFeed.staleFor');
      throw new ConfigError([
        `changeFeed.staleFor${source ? ` (from ${source})` : ''}: expected at least ${minimumStaleFor}ms (1s, and 4 × changeFeed.pollInterval, ` +
          `so that ordinary polling keeps cached keys usable), found ${changeFeed.staleFor}ms`,
      ]);
    }
    return {
      store: isPostgresLocation(raw.store) ? raw.store : resolve(cwd, raw.store),
      workers: raw.workers,
      workerBalancing: raw.workerBalancing,
      cache: { ...raw.cache },
      changeFeed,
      usage: { flushInterval: milliseconds(raw.usage.flushInterval), retention: milliseconds(raw.usage.retention) },
      log: { ...raw.log },
    };
  },
};
