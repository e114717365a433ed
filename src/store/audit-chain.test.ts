import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AuditEntry, AuditHead, AuditLog, NewAuditEntry } from './audit-log.ts';
import { chainAuditEntry, GENESIS_HASH, verifyAuditChain } from './audit-chain.ts';

/** An audit log in an array, to exercise the chain without a database. */
function memoryLog(entries: AuditEntry[], head: AuditHead): AuditLog {
  return {
    async listAuditEntries() {
      return [...entries].reverse();
    },
    async auditEntriesSince(afterSeq, limit) {
      return entries.filter((entry) => entry.seq > afterSeq).sort((a, b) => a.seq - b.seq).slice(0, limit);
    },
    async auditHead() {
      return head;
    },
  };
}

function buildChain(count: number): { entries: AuditEntry[]; head: AuditHead } {
  let head: AuditHead = { seq: 0, hash: GENESIS_HASH };
  const entries: AuditEntry[] = [];
  for (let i = 0; i < count; i++) {
    const entry: NewAuditEntry = { at: 1_700_000_000_000 + i, actor: i % 2 ? 'cli' : 'adm_x', address: i % 2 ? null : '192.0.2.1', action: 'key.revoked', target: `key_${i}`, reason: i % 3 ? null : `reason ${i}`, details: JSON.stringify({ i }) };
    const chained = chainAuditEntry(head, entry);
    entries.push(chained);
    head = { seq: chained.seq, hash: chained.hash };
  }
  return { entries, head };
}

const FIELDS = ['at', 'actor', 'address', 'action', 'target', 'reason', 'details', 'prevHash', 'hash'] as const;

describe('the audit hash chain', () => {
  it('verifies an untouched chain of any length', async () => {
    for (const count of [0, 1, 2, 600, 1001]) {
      const { entries, head } = buildChain(count);
      assert.deepEqual(await verifyAuditChain(memoryLog(entries, head)), { ok: true, entries: count, head });
    }
  });

  it('detects any change to any field of any entry, naming that entry or the one after it', async () => {
    const { entries, head } = buildChain(8);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 7 }), fc.constantFrom(...FIELDS), fc.string({ minLength: 1, maxLength: 8 }), async (index, field, junk) => {
      const tampered = entries.map((entry) => ({ ...entry }));
      const target = tampered[index] as unknown as Record<string, unknown>;
      target[field] = typeof target[field] === 'number' ? (target[field] as number) + 1 : `${String(target[field])}${junk}`;
      const result = await verifyAuditChain(memoryLog(tampered, head));
      assert.equal(result.ok, false);
      assert.ok(!result.ok && (result.seq === index + 1 || result.seq === index + 2), `${field} of entry ${index + 1}: ${JSON.stringify(result)}`);
    }));
  });

  it('detects a deletion anywhere, and reorders', async () => {
    const { entries, head } = buildChain(6);
    for (let index = 0; index < 6; index++) {
      const result = await verifyAuditChain(memoryLog(entries.filter((_, i) => i !== index), head));
      assert.equal(result.ok ? 0 : result.seq, index + 1, `deleting entry ${index + 1}`);
    }
    const swapped = entries.map((entry) => ({ ...entry }));
    [swapped[2]!.seq, swapped[3]!.seq] = [swapped[3]!.seq, swapped[2]!.seq];
    assert.equal(((await verifyAuditChain(memoryLog(swapped, head))) as { seq: number }).seq, 3);
  });

  it('with an anchor, detects a log cut back and re-chained so that it is consistent in itself', async () => {
    const original = buildChain(4);
    // The same history without its last entry, head rewritten to match: the chain alone cannot tell.
    const shortened = buildChain(3);
    assert.equal((await verifyAuditChain(memoryLog(shortened.entries, shortened.head))).ok, true);
    assert.equal((await verifyAuditChain(memoryLog(original.entries, original.head), original.entries[2]!.hash)).ok, true);
    const anchored = await verifyAuditChain(memoryLog(shortened.entries, shortened.head), original.head.hash);
    assert.deepEqual(anchored, { ok: false, entries: 3, seq: null, problem: `no entry has the recorded head hash ${original.head.hash}: the log was rewritten after it was recorded` });
  });
});
