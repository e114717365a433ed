/**
 * `node bench/presented-keys-timing.ts`: does the answer to a presented key (revoke by
 * presenting, leaks.presentation) take the same time whatever the key is?
 *
 * One gateway process (`portcullis serve`, so the client's work never shares its event loop),
 * on a fresh SQLite store, with leaks.presentation on. Keys of
 * five kinds are presented in an interleaved, shuffled order (so drift in the machine's load
 * falls on every kind alike): a live key (a fresh one each time, since a presented key is then
 * quarantined), a revoked key, a quarantined key, an unknown key of the right shape, and a
 * string that is no key at all. The time is from sending the request to the end of the answer,
 * on one keep-alive connection. Prints the median, p90 and p99 per kind, and the largest gap
 * between two kinds' medians.
 *
 * Env: BENCH_SAMPLES per kind (200).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { digestKey } from '../src/keys/key-digest.ts';
import { displayPrefixOf, generateKey, generateKeyId } from '../src/keys/key-format.ts';
import { CLI_ACTOR } from '../src/store/audit-log.ts';
import { openKeyStore } from '../src/store/open-key-store.ts';
import type { Store } from '../src/store/store.ts';
import { ChildProcesses, delay } from './child-processes.ts';
import { percentile } from './latency-summary.ts';
import { freePort } from './portcullis-process.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const PATH = '/.well-known/portcullis/revoke-key';
type Kind = 'live' | 'revoked' | 'quarantined' | 'unknown' | 'not a key';
const KINDS: readonly Kind[] = ['live', 'revoked', 'quarantined', 'unknown', 'not a key'];

async function createKey(store: Store): Promise<{ id: string; key: string }> {
  const key = generateKey('pcl');
  const id = generateKeyId();
  await store.createKey({ id, digest: digestKey(key), displayPrefix: displayPrefixOf(key), name: 'timing', tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null }, Date.now(), CLI_ACTOR);
  return { id, key };
}

function shuffled<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-presented-'));
  const storePath = join(directory, 'timing.db');
  const store = await openKeyStore(storePath, { ifMissing: 'create' });
  await store.migrate();
  const revoked = await createKey(store);
  await store.revokeKey(revoked.id, 'timing', Date.now(), CLI_ACTOR);
  const quarantined = await createKey(store);
  await store.quarantineKey(quarantined.id, 'timing', Date.now(), CLI_ACTOR);
  const live = await Promise.all(Array.from({ length: SAMPLES + 20 }, () => createKey(store)));
  await store.close();
  const children = new ChildProcesses();
  const port = await freePort();
  children.spawn('portcullis', process.execPath, [join(import.meta.dirname, '../src/cli/main.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--store', storePath], {
    cwd: directory,
    env: { PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_ADMIN_LISTEN: '', PORTCULLIS_LEAKS_PRESENTATION_ENABLED: 'true', PORTCULLIS_LEAKS_PRESENTATION_RATE: '1000000/s', PORTCULLIS_LIMITS_ADDRESS_RATE: '1000000/s' },
  });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  for (let tries = 0; ; tries++) {
    const answered = await pool.request({ method: 'GET', path: PATH }).then((response) => response.body.dump().then(() => true), () => false);
    if (answered) break;
    if (tries > 150) throw new Error('the gateway did not start');
    await delay(100);
  }
  const keyOf: Record<Kind, () => string> = {
    live: () => (live.pop() as { key: string }).key,
    revoked: () => revoked.key,
    quarantined: () => quarantined.key,
    unknown: () => generateKey('pcl'),
    'not a key': () => `not-a-key-${Math.random().toString(36).slice(2)}`,
  };
  const times: Record<Kind, number[]> = { live: [], revoked: [], quarantined: [], unknown: [], 'not a key': [] };
  const present = async (kind: Kind) => {
    const body = JSON.stringify({ key: keyOf[kind](), url: 'https://paste.example/raw/abc' });
    const started = performance.now();
    const response = await pool.request({ method: 'POST', path: PATH, body, headers: { 'content-type': 'application/json' } });
    await response.body.text();
    if (response.statusCode !== 202) throw new Error(`status ${response.statusCode}`);
    return performance.now() - started;
  };
  for (let warm = 0; warm < 20; warm++) await present(KINDS[warm % KINDS.length] as Kind);
  for (const kind of shuffled(KINDS.flatMap((each) => Array.from({ length: SAMPLES }, () => each)))) times[kind].push(await present(kind));
  await pool.close();
  await children.stopAll();
  rmSync(directory, { recursive: true, force: true });
  const medians: number[] = [];
  console.log(`kind          median ms   p90 ms   p99 ms   (${SAMPLES} samples each)`);
  for (const kind of KINDS) {
    const sorted = [...times[kind]].sort((a, b) => a - b);
    const [p50, p90, p99] = [50, 90, 99].map((p) => percentile(sorted, p)) as [number, number, number];
    medians.push(p50);
    console.log(`${kind.padEnd(12)}  ${p50.toFixed(3).padStart(9)}  ${p90.toFixed(3).padStart(7)}  ${p99.toFixed(3).padStart(7)}`);
  }
  console.log(`largest gap between two medians: ${(Math.max(...medians) - Math.min(...medians)).toFixed(3)} ms`);
}

await main();
