import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WallClock } from './wall-clock.ts';

describe('WallClock', () => {
  it('tracks Date.now() with the real clocks', () => {
    const clock = new WallClock();
    const wall = clock.wallTime(performance.now());
    assert.ok(Math.abs(wall - Date.now()) < 50, `${wall} vs ${Date.now()}`);
  });

  it('reads the wall clock at most once a second, and follows a step within a second', () => {
    let wall = 1_000_000;
    let monotonic = 10;
    let wallReads = 0;
    const clock = new WallClock(() => (wallReads++, wall + monotonic), () => monotonic);
    assert.equal(clock.wallTime(monotonic), 1_000_010);
    monotonic = 500;
    assert.equal(clock.wallTime(monotonic), 1_000_500, 'derived from the offset');
    wall += 60_000; // the system clock is stepped forward a minute
    monotonic = 900;
    assert.equal(clock.wallTime(monotonic), 1_000_900, 'not yet seen: less than a second since the last reading');
    monotonic = 1_010;
    assert.equal(clock.wallTime(monotonic), 1_061_010, 'seen once a second has passed');
    assert.equal(wallReads, 2);
  });

  it('takes the offset again for a reading older than the last one', () => {
    let monotonic = 5_000;
    const clock = new WallClock(() => 2_000_000 + monotonic, () => monotonic);
    clock.wallTime(5_000);
    monotonic = 6_000;
    assert.equal(clock.wallTime(4_000), 2_004_000);
  });
});
