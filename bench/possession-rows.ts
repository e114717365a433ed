/**
 * The rows whose every request proves possession of a private key, so that no request may be
 * sent twice: `dpop` (a delegated browser token with a fresh DPoP proof each, RFC 9449) and
 * `signed-requests` (a key bound to a signing key, a fresh RFC 9421 signature with a nonce each).
 * wrk's Lua cannot sign, so before every run of wrk, run.ts has the row write a list of new
 * requests (bench/wrk.ts `headerList`, sized from the row's rate); each row keeps what it signs
 * with for the server it started last (a fresh process each round needs fresh tokens).
 */
import { access, copyFile, rm } from 'node:fs/promises';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { signRequest } from '../packages/node-signer/src/index.ts';
import { dpopProof, proofKey, thumbprintOf, tokenHash } from '../test/support/dpop-proofs.ts';
import type { ProofKey } from '../test/support/dpop-proofs.ts';
import { startPortcullis } from './portcullis-process.ts';
import type { BenchContext, RequestListSource, StartedTarget } from './targets.ts';
import { writeHeaderList } from './wrk.ts';

/**
 * The bench settings of the `dpop` row (docs/benchmarks.md). Proofs are made before each run of
 * wrk rather than in answer to a challenge, so no server nonce; the proof window and the replay
 * cache are wide enough that a list made before a turn of up to a few minutes, and every proof a
 * process accepts in a round, fit (a full cache answers 503, which would fail the run).
 */
export const DPOP_BENCH_ENV: Readonly<Record<string, string>> = {
  PORTCULLIS_DPOP_ENABLED: 'true',
  PORTCULLIS_DPOP_NONCE: 'false',
  PORTCULLIS_DPOP_PROOF_MAX_AGE: '5m',
  PORTCULLIS_DPOP_REPLAY_CACHE_SIZE: '1000000',
};

/** The bench settings of the `signed-requests` row: the same reasons as `DPOP_BENCH_ENV`. */
export const SIGNED_REQUESTS_BENCH_ENV: Readonly<Record<string, string>> = {
  PORTCULLIS_SIGNED_REQUESTS_MAX_AGE: '5m',
  PORTCULLIS_SIGNED_REQUESTS_REPLAY_CACHE_SIZE: '1000000',
};

/** The page origin the delegated tokens are issued for; every request carries it, as a browser's would. */
export const BENCH_PAGE_ORIGIN = 'https://app.example';

/** What a row built from this module adds to its entry in targets.ts. */
export interface PossessionRow {
  start(context: BenchContext): Promise<StartedTarget>;
  requestList: RequestListSource;
}

export interface DpopSession {
  key: ProofKey;
  token: string;
  /** base64url SHA-256 of the token: the proofs' `ath`. */
  ath: string;
}

/** One delegated token per key of the run (a frontend server each), each bound to its own browser key. */
async function issueTokens(url: string, parents: readonly string[]): Promise<DpopSession[]> {
  const sessions: DpopSession[] = [];
  for (const parent of parents) {
    const key = proofKey('ES256');
    // An hour (the default dpop.maxTokenLifetime), so a token outlives a process kept for a whole run.
    const body = JSON.stringify({ jkt: thumbprintOf(key), scopes: [], origins: [BENCH_PAGE_ORIGIN], lifetime: 3600 });
    const response = await fetch(`${url}/.well-known/portcullis/token`, { method: 'POST', headers: { authorization: `Bearer ${parent}`, 'content-type': 'application/json' }, body });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`dpop: the token request answered ${response.status}: ${text}`);
    const token = (JSON.parse(text) as { token: string }).token;
    sessions.push({ key, token, ath: tokenHash(token) });
  }
  return sessions;
}

/** `count` requests for `htu`, rotating over the sessions, each with a proof of its own (a new `jti`). */
export function* dpopRequests(sessions: readonly DpopSession[], htu: string, count: number): Generator<Record<string, string>> {
  if (sessions.length === 0) throw new Error('dpop: no tokens to make requests with');
  const iat = Math.floor(Date.now() / 1000);
  for (let index = 0; index < count; index++) {
    const session = sessions[index % sessions.length]!;
    const proof = dpopProof(session.key, { jti: randomUUID(), htm: 'GET', htu, iat, ath: session.ath });
    yield { Authorization: `DPoP ${session.token}`, DPoP: proof, Origin: BENCH_PAGE_ORIGIN };
  }
}

/** The `dpop` row: Portcullis with delegated tokens on; `GET /` with a token of the run's keys and a new proof each. */
export function dpopRow(): PossessionRow {
  let sessions: DpopSession[] = [];
  let htu = '';
  return {
    async start(context) {
      const started = await startPortcullis(context, 'dpop', [], { ...DPOP_BENCH_ENV });
      sessions = await issueTokens(started.url, context.tokens);
      htu = `${started.url}/`;
      return started;
    },
    requestList: {
      write: (path, count) => writeHeaderList(path, dpopRequests(sessions, htu, count)),
    },
  };
}

export interface SigningService {
  id: string;
  key: string;
  privateKey: KeyObject;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A copy of the run's seeded store with `count` more keys, each bound to an Ed25519 public key
 * of its own (what `keys create --signing-key` stores), so the other rows' store stays as it is.
 */
async function seedSigningServices(seededStorePath: string, path: string, count: number): Promise<SigningService[]> {
  for (const suffix of ['', '-wal', '-shm']) {
    await rm(path + suffix, { force: true });
    if (await exists(seededStorePath + suffix)) await copyFile(seededStorePath + suffix, path + suffix);
  }
  // Loaded only here, like bench/seed-key-store.ts, so the baseline rows run without the store.
  const { openKeyStore } = await import('../src/store/open-key-store.ts');
  const { CLI_ACTOR } = await import('../src/store/audit-log.ts');
  const { generateKey, generateKeyId, displayPrefixOf } = await import('../src/keys/key-format.ts');
  const { digestKey } = await import('../src/keys/key-digest.ts');
  const store = await openKeyStore(path);
  try {
    const services: SigningService[] = [];
    for (let index = 0; index < count; index++) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const key = generateKey('pcl');
      const id = generateKeyId();
      await store.createKey({
        id, digest: digestKey(key), displayPrefix: displayPrefixOf(key), name: `bench-signed-${index}`, tags: [], scopes: [], allowedCidrs: [],
        certFingerprint: null, signingKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), rateLimit: null, quota: null, metadata: {}, expiresAt: null,
      }, Date.now(), CLI_ACTOR);
      services.push({ id, key, privateKey });
    }
    return services;
  } finally {
    await store.close();
  }
}

/** `count` requests for `url`, rotating over the services, each signed anew (its own `nonce`). */
export function* signedRequests(services: readonly SigningService[], url: string, count: number): Generator<Record<string, string>> {
  if (services.length === 0) throw new Error('signed-requests: no bound keys to make requests with');
  const created = Math.floor(Date.now() / 1000);
  for (let index = 0; index < count; index++) {
    const service = services[index % services.length]!;
    const signed = signRequest({ method: 'GET', url, privateKey: service.privateKey, keyId: service.id, created });
    yield { Authorization: `Bearer ${service.key}`, 'Signature-Input': signed['signature-input'], Signature: signed.signature };
  }
}

/** The `signed-requests` row: as many keys as the other rows use, each bound to its own signing key; `GET /` signed anew each time. */
export function signedRequestsRow(): PossessionRow {
  let services: SigningService[] | null = null;
  let url = '';
  return {
    async start(context) {
      if (context.seededStorePath === null) throw new Error('signed-requests needs the seeded key store; give it needsKeyStore: true');
      const storePath = join(context.workDir, 'signed-requests-seed.db');
      services ??= await seedSigningServices(context.seededStorePath, storePath, context.tokens.length);
      // The readiness check uses one of the run's unbound keys, which this store still holds.
      const started = await startPortcullis({ ...context, seededStorePath: storePath }, 'signed-requests', [], { ...SIGNED_REQUESTS_BENCH_ENV });
      url = `${started.url}/`;
      return started;
    },
    requestList: {
      write: (path, count) => writeHeaderList(path, signedRequests(services ?? [], url, count)),
    },
  };
}
