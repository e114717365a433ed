import { createKeyParser } from '../../keys/key-format.ts';
import type { Policy } from '../policy.ts';
import { IssuerAuthentication } from './issuer-authentication.ts';
import { TokenIssuerCheck } from './token-issuer-check.ts';

/** What the issuer reads: the `dpop` options (owned by the dpop policy) and the accepted key prefixes. */
interface TokenIssuerNeeds {
  dpop: { enabled: boolean; tokenPath: string; maxTokenLifetime: number };
  keys: { acceptedPrefixes: string[] };
}

/** Stage 5: delegated browser tokens issued on `dpop.tokenPath`, before CORS, routes and keys. Off unless `dpop.enabled`. */
export const dpopTokenIssuer: Policy<never, TokenIssuerNeeds> = {
  name: 'dpop-token-issuer',
  stage: 5,
  config: null,
  create(config, { verifier, tokenKeys, repeatedErrors }) {
    if (!config.dpop.enabled) return null;
    const onStoreError = repeatedErrors('delegated token issuer: key store failed');
    return new TokenIssuerCheck({
      path: config.dpop.tokenPath,
      authentication: new IssuerAuthentication({ parseKey: createKeyParser(config.keys.acceptedPrefixes), verifier, onStoreError }),
      keys: tokenKeys,
      maxLifetimeSeconds: config.dpop.maxTokenLifetime,
      onStoreError,
    });
  },
};
