import type { ConfigFragment } from '../../config/config-fragment.ts';
import { createKeyParser, KEY_PREFIX_PATTERN } from '../../keys/key-format.ts';
import { VerifiedKeyMemo } from '../../verify/verified-key-memo.ts';
import type { Policy } from '../policy.ts';
import { createCertificateIdentity } from './certificate-identity.ts';
import { KeyAuthCheck } from './key-auth-check.ts';

export interface KeysSettings {
  keys: { prefix: string; acceptedPrefixes: string[]; headers: string[]; queryParameter: string | null };
}

/** What key auth reads besides its own options: the memo's size, and whether a certificate can stand in for a key. */
interface KeyAuthNeeds extends KeysSettings {
  cache: { maxVerifiedKeys: number };
  tls: { certificateIdentity: boolean } | null;
}

const keysConfig: ConfigFragment<KeysSettings> = {
  formats: {
    'key-prefix': {
      expected: 'lowercase letters and digits starting with a letter, optionally with an environment tag such as pcl_live',
      documentation: 'Lowercase letters and digits starting with a letter (at most 16), optionally followed by `_` and an environment tag of at most 16 lowercase letters and digits: `pcl`, `pcl_live`, `acme_test`.',
      validate: KEY_PREFIX_PATTERN,
    },
  },
  options: {
    'keys.prefix': { type: 'string', format: 'key-prefix', default: 'pcl', description: 'Prefix of newly created keys, optionally with an environment tag (`pcl_live`).' },
    'keys.acceptedPrefixes': {
      type: 'array',
      items: { type: 'string', format: 'key-prefix' },
      uniqueItems: true,
      description: 'Prefixes the gateway accepts. Defaults to `[keys.prefix]`; list more while migrating from one prefix to another.',
    },
    'keys.headers': {
      type: 'array',
      minItems: 1,
      items: { type: 'string', format: 'header-name' },
      uniqueItems: true,
      default: ['authorization', 'x-api-key'],
      description: 'Request headers that may carry the key. `authorization` means `Authorization: Bearer <key>` (read as leniently as any common server reads it; a key anywhere in another scheme, Basic credentials included, counts too); any other header carries the bare key. A key header that carried a key never reaches the upstream.',
    },
    'keys.queryParameter': {
      type: ['string', 'null'],
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      default: null,
      description: 'Query parameter that may carry the key. Off by default: URLs end up in logs and browser history.',
    },
  },
  read(document) {
    const { keys } = document as unknown as { keys: Omit<KeysSettings['keys'], 'acceptedPrefixes'> & { acceptedPrefixes?: string[] } };
    return {
      keys: {
        prefix: keys.prefix,
        acceptedPrefixes: keys.acceptedPrefixes ?? [keys.prefix],
        headers: keys.headers.map((header) => header.toLowerCase()),
        queryParameter: keys.queryParameter,
      },
    };
  },
};

/** Stage 6: exactly one API key, checked by format, then by its digest's record (or, without a key, the client certificate's key). */
export const keyAuth: Policy<KeysSettings, KeyAuthNeeds> = {
  name: 'key-auth',
  stage: 6,
  config: keysConfig,
  create(config, { verifier, repeatedErrors }) {
    const onStoreError = repeatedErrors('key store lookup failed');
    return new KeyAuthCheck({
      parseKey: createKeyParser(config.keys.acceptedPrefixes),
      acceptedPrefixes: config.keys.acceptedPrefixes,
      verifier,
      keyHeaders: config.keys.headers,
      queryParameter: config.keys.queryParameter,
      onStoreError,
      memo: config.cache.maxVerifiedKeys > 0 ? new VerifiedKeyMemo(config.cache.maxVerifiedKeys) : null,
      onMissingKey: config.tls?.certificateIdentity === true ? createCertificateIdentity(verifier, onStoreError) : undefined,
    });
  },
};
