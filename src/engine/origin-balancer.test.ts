import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginBalancer, type OriginBalancerOptions } from './origin-balancer.ts';

/** A balancer on a clock the test moves, recording its ejections and restorations. */
function balancerOf(options: Partial<OriginBalancerOptions> & Pick<OriginBalancerOptions, 'count'>) {
  const clock = { now: 1_000_000 };
  const events: string[] = [];
  const balancer = new OriginBalancer({
    policy: 'round-robin',
    failuresToEject: 3,
    ejectFor: 10_000,
    now: () => clock.now,
    events: {
      originEjected: (index, failures, until) => events.push(`ejected ${index} after ${failures} until +${until - clock.now}`),
      originRestored: (index, outFor) => events.push(`restored ${index} after ${outFor}`),
    },
    ...options,
  });
  return { balancer, clock, events };
}

/** The next `count` picks, each request over at once. */
function picks(balancer: OriginBalancer, count: number): number[] {
  return Array.from({ length: count }, () => balancer.pick());
}

describe('OriginBalancer: round-robin', () => {
  it('takes the origins in turn', () => {
    const { balancer } = balancerOf({ count: 3 });
    assert.deepEqual(picks(balancer, 7), [0, 1, 2, 0, 1, 2, 0]);
  });

  it('always picks the only origin, even to avoid it, and never ejects it', () => {
    const { balancer, events } = balancerOf({ count: 1 });
    for (let failure = 0; failure < 10; failure++) balancer.failed(0);
    assert.deepEqual([balancer.pick(), balancer.pick(0), balancer.ejectedCount], [0, 0, 0]);
    assert.deepEqual(events, []);
  });

  it('picks another origin than the one to avoid (a request sent again), and carries on the turn after it', () => {
    const { balancer } = balancerOf({ count: 3 });
    assert.equal(balancer.pick(), 0);
    assert.equal(balancer.pick(1), 2, 'the turn was at 1, which is avoided');
    assert.deepEqual(picks(balancer, 3), [0, 1, 2]);
  });
});

describe('OriginBalancer: least-busy', () => {
  it('picks the origin with the fewest requests in flight', () => {
    const { balancer } = balancerOf({ count: 3, policy: 'least-busy' });
    for (const [index, inFlight] of [[0, 4], [1, 1], [2, 3]] as const) for (let request = 0; request < inFlight; request++) balancer.started(index);
    assert.equal(balancer.pick(), 1);
    balancer.started(1);
    balancer.started(1);
    balancer.started(1);
    assert.equal(balancer.pick(), 2, '0: 4, 1: 4, 2: 3');
    balancer.ended(0);
    balancer.ended(0);
    assert.equal(balancer.pick(), 0, '0: 2 now');
  });

  it('takes equally busy origins in turn', () => {
    const { balancer } = balancerOf({ count: 3, policy: 'least-busy' });
    assert.deepEqual(picks(balancer, 6), [0, 1, 2, 0, 1, 2], 'all idle');
    balancer.started(0);
    assert.deepEqual(picks(balancer, 4), [1, 2, 1, 2], '0 is busier than the others');
  });

  it('skips ejected origins however idle they are', () => {
    const { balancer } = balancerOf({ count: 2, policy: 'least-busy' });
    for (let request = 0; request < 5; request++) balancer.started(1);
    for (let failure = 0; failure < 3; failure++) balancer.failed(0);
    assert.deepEqual(picks(balancer, 3), [1, 1, 1]);
  });
});

describe('OriginBalancer: passive health', () => {
  it('ejects an origin after N failures in a row, not N failures with a success between', () => {
    const { balancer, events } = balancerOf({ count: 2 });
    balancer.failed(0);
    balancer.failed(0);
    balancer.succeeded(0);
    balancer.failed(0);
    balancer.failed(0);
    assert.equal(balancer.isEjected(0), false, 'two in a row since the success');
    balancer.failed(0);
    assert.deepEqual([balancer.isEjected(0), balancer.ejectedCount], [true, 1]);
    assert.deepEqual(events, ['ejected 0 after 3 until +10000']);
    assert.deepEqual(picks(balancer, 4), [1, 1, 1, 1]);
  });

  it('after ejectFor, sends one request (a trial) and nothing else until it has an outcome; its success restores the origin', () => {
    const { balancer, clock, events } = balancerOf({ count: 2 });
    for (let failure = 0; failure < 3; failure++) balancer.failed(0);
    clock.now += 9_999;
    assert.deepEqual(picks(balancer, 2), [1, 1], 'still ejected');
    clock.now += 1;
    assert.deepEqual(picks(balancer, 3), [0, 1, 1], 'one trial, then the others while it is out');
    clock.now += 250;
    balancer.succeeded(0);
    assert.deepEqual(events, ['ejected 0 after 3 until +10000', 'restored 0 after 10250']);
    assert.deepEqual([balancer.isEjected(0), ...picks(balancer, 4)], [false, 0, 1, 0, 1]);
  });

  it('ejects again for ejectFor when the trial fails, without a second ejection event', () => {
    const { balancer, clock, events } = balancerOf({ count: 2 });
    for (let failure = 0; failure < 3; failure++) balancer.failed(0);
    clock.now += 10_000;
    assert.equal(balancer.pick(), 0, 'the trial');
    clock.now += 100;
    balancer.failed(0);
    clock.now += 9_999;
    assert.deepEqual(picks(balancer, 2), [1, 1]);
    clock.now += 1;
    assert.equal(balancer.pick(), 0, 'the next trial');
    assert.deepEqual(events, ['ejected 0 after 3 until +10000']);
  });

  it('tries again when a trial ends with no outcome (the client went away): after another ejectFor', () => {
    const { balancer, clock } = balancerOf({ count: 2 });
    for (let failure = 0; failure < 3; failure++) balancer.failed(0);
    clock.now += 10_000;
    assert.equal(balancer.pick(), 0);
    balancer.started(0);
    balancer.ended(0);
    clock.now += 9_999;
    assert.equal(balancer.pick(), 1);
    clock.now += 1;
    assert.equal(balancer.pick(), 0);
  });

  it('when every origin is ejected, still picks one: the one whose last failure is the oldest', () => {
    const { balancer, clock } = balancerOf({ count: 3 });
    for (const index of [2, 0, 1]) {
      for (let failure = 0; failure < 3; failure++) balancer.failed(index);
      clock.now += 1000;
    }
    assert.equal(balancer.ejectedCount, 3);
    assert.deepEqual(picks(balancer, 3), [2, 2, 2]);
    assert.equal(balancer.pick(2), 0, 'a request sent again from 2 goes to the next oldest failure');
    balancer.succeeded(2);
    assert.deepEqual([balancer.ejectedCount, balancer.pick()], [2, 2]);
  });

  it('restores an ejected origin that answers a request sent before it was ejected', () => {
    const { balancer, clock, events } = balancerOf({ count: 2 });
    for (let failure = 0; failure < 3; failure++) balancer.failed(1);
    clock.now += 40;
    balancer.succeeded(1);
    assert.deepEqual(events, ['ejected 1 after 3 until +10000', 'restored 1 after 40']);
    assert.deepEqual(picks(balancer, 2), [0, 1]);
  });

  it('refuses a count of origins that is not a positive integer', () => {
    assert.throws(() => new OriginBalancer({ count: 0, policy: 'round-robin', failuresToEject: 3, ejectFor: 1000 }), RangeError);
  });
});
