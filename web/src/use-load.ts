import { useEffect, useRef } from 'preact/hooks';

/**
 * Runs `load` whenever `inputs` change and hands its answer to `onValue` or `onFailure`, but only
 * while those inputs are still the current ones. A page stays mounted when only its key, period or
 * filter changes, so without this guard a slow answer for the earlier one would land after the
 * answer for the later one and show the wrong key under the new address.
 */
export function useLoad<T>(load: () => Promise<T>, onValue: (value: T) => void, onFailure: (failure: unknown) => void, inputs: readonly unknown[]): void {
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && onValue(value),
      (failure: unknown) => current && onFailure(failure),
    );
    return () => {
      current = false;
    };
  }, inputs);
}

/**
 * The same guard for a load a click starts ("Load more"): call the returned function when the load
 * starts, and the function it gives back, when the answer comes, says whether `listing` (the page's
 * filter) is still what it was; an answer for a listing the operator has left is dropped.
 */
export function useListingGuard(listing: string): () => () => boolean {
  const latest = useRef(listing);
  latest.current = listing;
  return () => {
    const asked = listing;
    return () => latest.current === asked;
  };
}
