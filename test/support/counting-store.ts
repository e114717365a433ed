import type { KeyStore } from '../../src/store/key-store.ts';

/** Wraps a store so a test can see whether the gateway asked it for a key by digest. */
export function countingStore(inner: KeyStore): { store: KeyStore; digestLookups: () => number } {
  let lookups = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'getKeyByDigest') {
        return (digest: string) => {
          lookups++;
          return target.getKeyByDigest(digest);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, digestLookups: () => lookups };
}
