import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArrivalSchedule, LatencyRecord, percentileOf } from './arrival-schedule.ts';

describe('constant-arrival-rate arithmetic', () => {
  it('spaces intended times by 1/rate from the start, without drift', () => {
    const schedule = new ArrivalSchedule(1000, 100);
    assert.deepEqual(schedule.takeDue(99.9), []);
    assert.deepEqual(schedule.takeDue(100), [100]);
    assert.deepEqual(schedule.takeDue(102.5), [101, 102]);
    assert.equal(schedule.nextDue(), 103);
    // After a million requests the millionth is still exactly where the rate puts it.
    assert.equal(schedule.intendedTime(1_000_000), 100 + 1_000_000);
  });

  it('gives a late tick every request it missed, each with its own intended time', () => {
    const schedule = new ArrivalSchedule(200, 0);
    schedule.takeDue(0);
    // The generator (or the machine) stalled for 50 ms: ten requests were due meanwhile.
    const late = schedule.takeDue(50);
    assert.deepEqual(late, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    assert.equal(schedule.issued, 11);
  });

  it('charges a server pause to every request intended during it (no coordinated omission)', () => {
    // 100 req/s to a server that answers in 1 ms, except that it stalls from 100 ms to 300 ms.
    const schedule = new ArrivalSchedule(100, 0);
    const record = new LatencyRecord(8);
    for (const intended of schedule.takeDue(990)) {
      const stalled = intended >= 100 && intended < 300;
      record.add(intended, stalled ? 300 + 1 : intended + 1);
    }
    const summary = record.summary();
    assert.equal(summary.count, 100);
    // 20 of 100 requests waited for the stall: p99 is nearly all of it, p50 is untouched.
    assert.equal(summary.p50, 1);
    assert.equal(summary.max, 201);
    assert.ok(summary.p99 > 100, `p99 ${summary.p99}`);
  });

  it('takes nearest-rank percentiles and refuses a bad rate', () => {
    assert.equal(percentileOf([1, 2, 3, 4], 50), 2);
    assert.equal(percentileOf([1, 2, 3, 4], 99.9), 4);
    assert.throws(() => percentileOf([], 50));
    assert.throws(() => new ArrivalSchedule(0, 0), RangeError);
  });
});
