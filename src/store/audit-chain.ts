import { hash } from 'node:crypto';
import type { AuditEntry, AuditHead, AuditLog, NewAuditEntry } from './audit-log.ts';
import { storedAuditEntry } from './stored-values.ts';

/**
 * The audit log's hash chain. Each entry stores the hash of the entry before it, and its own
 * hash covers its seq, its fields and that previous hash. So editing an entry changes its hash
 * (which no longer matches), deleting one leaves a gap in the seq numbers and a broken link,
 * and moving one changes the seq its hash was computed with. The newest seq and hash are also
 * kept in a separate head row, so cutting entries off the end shows too.
 *
 * What a chain cannot show: someone with write access to the database who rewrites every
 * entry after the one they changed, and the head. Record the head hash elsewhere
 * (`portcullis audit verify` prints it) and pass it back with `--expect-head` to catch that.
 */

/** `prevHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The SHA-256 (hex) an entry at `seq` after `prevHash` must carry. */
export function auditEntryHash(seq: number, entry: NewAuditEntry, prevHash: string): string {
  // A JSON array is an unambiguous encoding of the fields: no separator can be forged.
  const canonical = JSON.stringify([seq, entry.at, entry.actor, entry.address, entry.action, entry.target, entry.reason, entry.details, prevHash]);
  return hash('sha256', canonical, 'hex');
}

/**
 * The full entry to append after `head` (what a store inserts, in the transaction that read the
 * head). Its time is floored and its text checked first, so the hash covers exactly what every
 * store keeps.
 */
export function chainAuditEntry(head: AuditHead, given: NewAuditEntry): AuditEntry {
  const entry = storedAuditEntry(given);
  const seq = head.seq + 1;
  return { ...entry, seq, prevHash: head.hash, hash: auditEntryHash(seq, entry, head.hash) };
}

export type AuditVerification =
  | { ok: true; entries: number; head: AuditHead }
  | { ok: false; entries: number; seq: number | null; problem: string };

const PAGE = 500;

/**
 * Reads the whole log oldest first and checks every link. Stops at the first problem and
 * names the entry: later entries cannot be trusted past a broken link anyway. With `anchor`,
 * a head hash recorded earlier outside the database, it also checks that the chain still
 * contains that entry, which catches a log rewritten from some point on.
 */
export async function verifyAuditChain(log: AuditLog, anchor?: string): Promise<AuditVerification> {
  let previous: AuditHead = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  let anchored = anchor === undefined || anchor === GENESIS_HASH;
  for (;;) {
    const page = await log.auditEntriesSince(previous.seq, PAGE);
    for (const entry of page) {
      const problem = checkLink(previous, entry);
      if (problem !== null) return { ok: false, entries: count, seq: problem.seq, problem: problem.text };
      previous = { seq: entry.seq, hash: entry.hash };
      if (entry.hash === anchor) anchored = true;
      count++;
    }
    if (page.length < PAGE) break;
  }
  const head = await log.auditHead();
  if (head.seq > previous.seq) {
    const missing = previous.seq + 1 === head.seq ? `entry ${head.seq} is` : `entries ${previous.seq + 1} to ${head.seq} are`;
    return { ok: false, entries: count, seq: previous.seq + 1, problem: `${missing} missing: the log ends at ${previous.seq} but its head records ${head.seq} (entries deleted from the end)` };
  }
  if (head.seq !== previous.seq || head.hash !== previous.hash) {
    return { ok: false, entries: count, seq: previous.seq, problem: `the head (seq ${head.seq}, hash ${head.hash.slice(0, 12)}…) does not match the last entry (seq ${previous.seq})` };
  }
  if (!anchored) {
    return { ok: false, entries: count, seq: null, problem: `no entry has the recorded head hash ${anchor}: the log was rewritten after it was recorded` };
  }
  return { ok: true, entries: count, head };
}

function checkLink(previous: AuditHead, entry: AuditEntry): { seq: number; text: string } | null {
  if (entry.seq !== previous.seq + 1) {
    const missing = entry.seq === previous.seq + 2 ? `entry ${previous.seq + 1} is` : `entries ${previous.seq + 1} to ${entry.seq - 1} are`;
    return entry.seq > previous.seq + 1
      ? { seq: previous.seq + 1, text: `${missing} missing (deleted): entry ${entry.seq} follows entry ${previous.seq}` }
      : { seq: entry.seq, text: `entry ${entry.seq} is out of order after entry ${previous.seq}` };
  }
  if (entry.prevHash !== previous.hash) {
    return { seq: entry.seq, text: `entry ${entry.seq} does not link to entry ${previous.seq} (its previous-hash differs: entries were edited, replaced or reordered)` };
  }
  if (auditEntryHash(entry.seq, entry, entry.prevHash) !== entry.hash) {
    return { seq: entry.seq, text: `entry ${entry.seq} does not match its hash (edited or moved)` };
  }
  return null;
}
