import type { Store } from '../../src/store/store.ts';

/** Wraps a store so a test can see whether the gateway asked it anything (digest lookups). */
export function countingStore(inner: Store): { store: Store; digestLookups: () => number } {
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
