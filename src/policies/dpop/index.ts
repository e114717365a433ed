import { ConfigError } from '../../config/config-error.ts';
import type { ConfigFragment } from '../../config/config-fragment.ts';
import { duration } from '../../config/option-schemas.ts';
import { parseDuration } from '../../http/units.ts';
import { createDpopProofSettings } from '../../verify/dpop/dpop-proof.ts';
import { JtiReplayCache, SharedJtiReplayCache, type ProofReplayCache } from '../../verify/dpop/jti-replay-cache.ts';
import { SharedReplayClaims } from '../../verify/shared-replay.ts';
import type { LimiterBackend } from '../../limits/limiter-backend.ts';
import { RevokedTokenList } from '../../verify/dpop/revoked-tokens.ts';
import { ServerNonces } from '../../verify/dpop/server-nonce.ts';
import type { RevokedTokenStore } from '../../store/revoked-token-store.ts';
import type { KeyStore } from '../../store/key-store.ts';
import type { Policy } from '../policy.ts';
import { DpopCheck } from './dpop-check.ts';

export interface DpopSettings {
  dpop: {
    enabled: boolean;
    tokenPath: string;
    /** Seconds. */
    maxTokenLifetime: number;
    proofAlgorithms: string[];
    /** Seconds. */
    proofMaxAge: number;
    nonce: boolean;
    /** Milliseconds. */
    nonceInterval: number;
    replayCacheSize: number;
    /** `scheme://host[:port]`, or null. */
    publicUrl: string | null;
  };
}

/** A delegated token may live at most a day, whatever the config says (src/verify/dpop/delegated-token.ts). */
const HARD_MAX_LIFETIME_SECONDS = 24 * 3600;

const dpopConfig: ConfigFragment<DpopSettings> = {
  options: {
    'dpop.enabled': { type: 'boolean', default: false, description: 'Issue delegated browser tokens on `dpop.tokenPath` and accept requests made with them (`Authorization: DPoP <token>` and a `DPoP` proof, RFC 9449). See [security.md](security.md#delegated-browser-tokens-bound-to-a-dpop-key).' },
    'dpop.tokenPath': {
      type: 'string',
      pattern: '^/[A-Za-z0-9._~/-]*$',
      default: '/.well-known/portcullis/token',
      description: 'The path of the public listener a frontend server POSTs to for a delegated token, authenticated with its own key (matched exactly, after canonicalisation; answered before routes, so it needs no route).',
    },
    'dpop.maxTokenLifetime': duration('The longest lifetime a delegated token may be given (at most 24h); a longer request gets this. Tokens live 10 minutes unless the request asks otherwise.', '1h'),
    'dpop.proofAlgorithms': {
      type: 'array',
      items: { type: 'string', enum: ['ES256', 'EdDSA'] },
      minItems: 1,
      uniqueItems: true,
      default: ['ES256'],
      description: 'The algorithms DPoP proofs may be signed with, in the order the `WWW-Authenticate` challenge lists them. Asymmetric only: never `none` or HMAC.',
    },
    'dpop.proofMaxAge': duration('How old a proof\'s `iat` may be (1s to 10m); its `jti` is remembered that long to refuse a replay.', '60s'),
    'dpop.nonce': { type: 'boolean', default: true, description: 'Require a server nonce in proofs (RFC 9449 §9): a proof without the current `DPoP-Nonce` gets 401 `use_dpop_nonce` with a fresh one, so proofs cannot be made ahead of time.' },
    'dpop.nonceInterval': duration('How long a server nonce is current (at least 1s); the one before it is accepted too.', '5m'),
    'dpop.replayCacheSize': { type: 'integer', minimum: 1, default: 100_000, description: 'How many recent proofs (`jti`) each process remembers; when it is full of proofs still in their window, new proofs get 503 `dpop_replay_cache_full`. Size it as `dpop.proofMaxAge` × peak accepted proofs per second.' },
    'dpop.publicUrl': {
      type: ['string', 'null'],
      pattern: '^https?://[^/?#]+$',
      default: null,
      description: 'The scheme and host clients reach the gateway by (`https://api.example.com`), when a proxy in front changes them; proofs\' `htu` is compared with it. Unset: the listener\'s scheme and the request\'s `Host`.',
    },
  },
  read(document) {
    const raw = (document as unknown as { dpop: Omit<DpopSettings['dpop'], 'maxTokenLifetime' | 'proofMaxAge' | 'nonceInterval'> & Record<'maxTokenLifetime' | 'proofMaxAge' | 'nonceInterval', unknown> }).dpop;
    const maxTokenLifetime = Math.floor((parseDuration(raw.maxTokenLifetime) as number) / 1000);
    if (maxTokenLifetime < 1 || maxTokenLifetime > HARD_MAX_LIFETIME_SECONDS) throw new ConfigError([`dpop.maxTokenLifetime: expected a duration from 1s to 24h, found ${String(raw.maxTokenLifetime)}`]);
    const proofMaxAge = Math.floor((parseDuration(raw.proofMaxAge) as number) / 1000);
    if (proofMaxAge < 1 || proofMaxAge > 600) throw new ConfigError([`dpop.proofMaxAge: expected a duration from 1s to 10m, found ${String(raw.proofMaxAge)}`]);
    const nonceInterval = parseDuration(raw.nonceInterval) as number;
    if (nonceInterval < 1000) throw new ConfigError([`dpop.nonceInterval: expected a duration of at least 1s, found ${String(raw.nonceInterval)}`]);
    return { dpop: { ...raw, maxTokenLifetime, proofMaxAge, nonceInterval, publicUrl: raw.publicUrl === null ? null : originOf(raw.publicUrl) } };
  },
};

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    throw new ConfigError([`dpop.publicUrl: expected a URL such as https://api.example.com, found ${url}`]);
  }
}

/** Stage 6, before key auth: requests made with a delegated DPoP-bound token. Off unless `dpop.enabled`. */
export const dpop: Policy<DpopSettings, DpopSettings & DpopNeeds> = {
  name: 'dpop',
  stage: 6,
  config: dpopConfig,
  create(config, { verifier, tokenKeys, repeatedErrors, limiter, store, keepRunning }) {
    const settings = config.dpop;
    if (!settings.enabled) return null;
    const revoked = revokedTokenList(store, config.changeFeed, repeatedErrors('revoked tokens: key store read failed'));
    keepRunning?.('revoked tokens', revoked, (list) => list.close());
    return new DpopCheck({
      keys: tokenKeys,
      verifier,
      proofs: createDpopProofSettings({ algorithms: settings.proofAlgorithms, maxAgeSeconds: settings.proofMaxAge, replayCache: proofReplayCache(settings.replayCacheSize, limiter, repeatedErrors) }),
      nonces: settings.nonce ? new ServerNonces(settings.nonceInterval) : null,
      publicOrigin: settings.publicUrl,
      revoked,
      onStoreError: repeatedErrors('delegated token: key store read failed'),
    });
  },
};

/** What the DPoP check reads besides its own options: how often to poll the revoked tokens, and how long to trust them. */
interface DpopNeeds {
  changeFeed: { pollInterval: number; staleFor: number };
}

/** The tokens revoked one by one, polled as often as the change feed; a store that cannot keep them cannot run the check (fail closed). */
function revokedTokenList(store: KeyStore, changeFeed: DpopNeeds['changeFeed'], onError: (error: unknown) => void): RevokedTokenList {
  if (!('revokedTokensSince' in store)) throw new Error('Delegated DPoP tokens need a key store that keeps revoked tokens');
  const list = new RevokedTokenList(store as KeyStore & RevokedTokenStore, { pollIntervalMs: changeFeed.pollInterval, staleForMs: changeFeed.staleFor, onError });
  list.refresh().catch(onError);
  return list;
}

/**
 * This node's `jti` cache, shared with every node through Redis when `redis.url` is set. While
 * Redis does not answer, proofs are checked against this node's cache alone and each such check
 * is reported (a rate-limited warning): see docs/security.md, "Replay caches shared through Redis".
 */
function proofReplayCache(size: number, limiter: LimiterBackend, repeatedErrors: (message: string) => (error: unknown) => void): ProofReplayCache {
  const local = new JtiReplayCache(size);
  const claimOnce = limiter.claimOnce?.bind(limiter);
  if (claimOnce === undefined) return local;
  const report = repeatedErrors('DPoP replay cache: Redis did not answer; proofs are checked against this node\'s cache only (a proof replayed on another node within its window is not refused)');
  const outage = new Error('Redis unreachable');
  return new SharedJtiReplayCache(local, new SharedReplayClaims({ claim: claimOnce, namespace: 'dpop:jti:', onDegraded: () => report(outage) }));
}
