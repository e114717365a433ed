import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { exactRow, storedText, storedTime, storedUsageMinutes } from './stored-values.ts';

describe('stored values', () => {
  it('floors a time to its millisecond: idempotent, never later, less than 1 ms earlier', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e15, max: 1e15, noNaN: true }), (time) => {
        const stored = storedTime(time, 't');
        assert.ok(Number.isSafeInteger(stored));
        assert.ok(stored <= time && stored + 1 > time);
        assert.equal(storedTime(stored, 't'), stored);
      }),
    );
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 53) - 2]) assert.throws(() => storedTime(bad, 'expiresAt'), /expiresAt must be a time/);
  });

  it('refuses text exactly when it holds U+0000 or a lone surrogate', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const storable = !text.includes('\u0000') && text.isWellFormed();
        if (storable) assert.equal(storedText(text, 'name'), text);
        else assert.throws(() => storedText(text, 'name'), RangeError);
      }),
    );
    assert.equal(storedText(null, 'reason'), null);
  });

  it('puts a usage minute on the start of its minute, before 1970 too', () => {
    const [after, before] = storedUsageMinutes([
      { keyId: 'k', minute: 120_000 + 59_999.9, requests: 1, bytesIn: 0, bytesOut: 0, denials: {}, addresses: [] },
      { keyId: 'k', minute: -0.5, requests: 1, bytesIn: 0, bytesOut: 0, denials: {}, addresses: [] },
    ]);
    assert.deepEqual([after?.minute, before?.minute], [120_000, -60_000]);
  });

  it('reads integers past 2^53 as a refusal, not a rounded number', () => {
    assert.deepEqual(exactRow({ used: 9_007_199_254_740_991n, keyId: 'k', nothing: null }), { used: Number.MAX_SAFE_INTEGER, keyId: 'k', nothing: null });
    assert.throws(() => exactRow({ used: 9_007_199_254_740_992n }), /does not fit/);
  });
});
