import type { Store } from '../../src/store/store.ts';

export interface BreakableStore {
  store: Store;
  /** From now on every call fails as an unreachable database would (close still works). */
  break(): void;
  repair(): void;
  /** Answer from `next` from now on (a restored or replaced database). */
  replaceWith(next: Store): void;
  /** How many calls of this method failed because the store was broken. */
  failedCalls(method: string): number;
}

/** Wraps a store so a test can make it unreachable, and back, at will. */
export function breakableStore(initial: Store): BreakableStore {
  let target = initial;
  let broken = false;
  const failures = new Map<string, number>();
  const store = new Proxy(initial, {
    get(_unused, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (broken && property !== 'close') {
          failures.set(String(property), (failures.get(String(property)) ?? 0) + 1);
          return Promise.reject(new Error('connect ECONNREFUSED (store broken by the test)'));
        }
        return (value as (...parameters: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    break: () => (broken = true),
    repair: () => (broken = false),
    replaceWith: (next) => (target = next),
    failedCalls: (method) => failures.get(method) ?? 0,
  };
}
