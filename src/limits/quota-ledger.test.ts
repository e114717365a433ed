import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { KeyStore, QuotaUsage, QuotaUsageDelta } from '../store/key-store.ts';
import { REFUSALS_BEFORE_DROP } from '../store/store-errors.ts';
import { QuotaLedger } from './quota-ledger.ts';
import { compileQuotaText } from './rate-policy.ts';

const day = 86_400_000;
const t0 = 20_000 * day;
const quota = compileQuotaText('1000/day')!;

/** A store that sums counts, and can be out of reach or refuse the batches holding a key. */
function fakeStore() {
  const totals = new Map<string, number>();
  const state = { unreachable: false, refuse: null as string | null, calls: 0 };
  const store = {
    async getQuotaUsage() {
      return null;
    },
    async addQuotaUsage(batch: QuotaUsageDelta[]): Promise<QuotaUsage[]> {
      state.calls++;
      if (state.unreachable) throw new Error('connect ECONNREFUSED');
      if (batch.some((delta) => delta.keyId === state.refuse)) throw new RangeError('quota count must be a whole number');
      return batch.map((delta) => {
        totals.set(delta.keyId, (totals.get(delta.keyId) ?? 0) + delta.used);
        return { keyId: delta.keyId, periodStart: delta.periodStart, used: totals.get(delta.keyId)! };
      });
    },
  } as unknown as KeyStore;
  return { store, totals, state };
}

async function admit(ledger: QuotaLedger, keyId: string, times: number): Promise<void> {
  const entry = await ledger.entry(keyId, quota, t0);
  for (let i = 0; i < times; i++) ledger.admitted(entry, 0);
}

it('keeps counts through an outage, and never lets refused counts take later ones down', async () => {
  const { store, totals, state } = fakeStore();
  const dropped: QuotaUsageDelta[][] = [];
  const ledger = new QuotaLedger(store, { maxEntries: 100, onError: () => {}, onDropped: (batch) => dropped.push(batch) });

  await admit(ledger, 'key_a', 2);
  state.unreachable = true;
  for (let i = 0; i < 2 * REFUSALS_BEFORE_DROP; i++) await assert.rejects(ledger.flush(), /ECONNREFUSED/);
  state.unreachable = false;
  await ledger.flush();
  assert.equal(totals.get('key_a'), 2, 'an outage loses nothing');

  state.refuse = 'key_bad';
  await admit(ledger, 'key_bad', 1);
  await admit(ledger, 'key_a', 1);
  await assert.rejects(ledger.flush(), /whole number/);
  for (let i = 1; i <= REFUSALS_BEFORE_DROP; i++) {
    await admit(ledger, 'key_a', 1);
    await ledger.flush();
  }
  assert.equal(totals.get('key_a'), 2 + REFUSALS_BEFORE_DROP, 'counts after the refused batch were written, each flush');
  assert.deepEqual(dropped, [[{ keyId: 'key_a', periodStart: t0, used: 1 }, { keyId: 'key_bad', periodStart: t0, used: 1 }]], 'the refused batch is reported once, with what it held');
  const calls = state.calls;
  await ledger.flush();
  assert.equal(state.calls, calls, 'and is not tried again');
});
