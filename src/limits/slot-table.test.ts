import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlotTable } from './slot-table.ts';
import { RefusedAddresses } from './refused-addresses.ts';

describe('SlotTable', () => {
  it('gives each id one slot, marking new ones', () => {
    const table = new SlotTable(4);
    const a = table.claim('a', 0);
    assert.ok(a < 0);
    assert.equal(table.claim('a', 0), ~a);
    assert.equal(table.find('a'), ~a);
    assert.equal(table.find('b'), -1);
  });

  it('never holds more than its capacity, however many ids pass (an attacker cycling through a million addresses)', () => {
    const table = new SlotTable(1000);
    for (let i = 0; i < 1_000_000; i++) {
      let slot = table.claim(`2001:db8::${i.toString(16)}`, i);
      if (slot < 0) slot = ~slot;
      table.setExpiry(slot, i + 10_000);
      assert.ok(slot >= 0 && slot < 1000);
    }
    assert.equal(table.size, 1000);
  });

  it('reuses expired slots before live ones', () => {
    const table = new SlotTable(3);
    for (const [id, expiry] of [['live-1', 1000], ['dead', 5], ['live-2', 1000]] as const) table.setExpiry(~table.claim(id, 0), expiry);
    table.claim('new', 10);
    assert.equal(table.find('dead'), -1);
    assert.notEqual(table.find('live-1'), -1);
    assert.notEqual(table.find('live-2'), -1);
  });
});

describe('RefusedAddresses', () => {
  it('refuses an address until the given time, for either reason', () => {
    const refused = new RefusedAddresses(10);
    refused.lock('127.0.0.2', 1000, 0);
    refused.throttle('127.0.0.3', 500, 0);
    assert.equal(refused.isRefused('127.0.0.2', 999), true);
    assert.equal(refused.isRefused('127.0.0.2', 1000), false);
    assert.equal(refused.isRefused('127.0.0.3', 499), true);
    assert.equal(refused.isRefused('127.0.0.3', 500), false);
    assert.equal(refused.isRefused('127.0.0.4', 0), false);
  });

  it('stays within its capacity and keeps a recent lock while addresses churn past expired entries', () => {
    const refused = new RefusedAddresses(100);
    refused.lock('attacker', 1_000_000, 0);
    for (let i = 0; i < 100_000; i++) refused.throttle(`10.0.${i >> 8}.${i & 255}`, i + 1, i);
    assert.ok(refused.size <= 100);
    assert.equal(refused.isRefused('attacker', 100_000), true);
  });
});
