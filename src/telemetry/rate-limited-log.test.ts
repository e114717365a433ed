import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { createLogger } from './logger.ts';
import { RateLimitedLog } from './rate-limited-log.ts';

interface Line {
  msg: string;
  level: number;
  kind: string;
  count: number;
  intervalMs: number;
  err?: { message: string; stack?: string; code?: string };
  at: number;
  [field: string]: unknown;
}

/** A real pino logger writing into an array; `at` is the mocked clock when the line was written. */
function capturingLogger(now: () => number) {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text !== '') lines.push({ ...(JSON.parse(text) as Line), at: now() });
      done();
    },
  });
  // pino writes synchronously to a plain stream when it is not a sonic-boom destination.
  return { logger: createLogger('debug', destination), lines };
}

function refused(code: string, message = `connect ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('RateLimitedLog', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  function advance(ms: number): void {
    clock += ms;
    mock.timers.tick(ms);
  }

  async function settled(): Promise<void> {
    // pino's stream write completes on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  }

  it('logs the first error at once, with its stack, then one line per interval with a count and the first error', async () => {
    const { logger, lines } = capturingLogger(() => clock);
    const log = new RateLimitedLog(logger, { level: 'error', message: 'key store lookup failed', interval: 1000 });
    log.report(refused('ECONNREFUSED', 'first'), { reqId: 'r-1' });
    for (let i = 0; i < 999; i++) log.report(refused('ECONNREFUSED', `later ${i}`), { reqId: `r-${i + 2}` });
    await settled();
    assert.equal(lines.length, 1, 'a thousand failures in one interval: one line');
    assert.equal(lines[0]!.msg, 'key store lookup failed');
    assert.equal(lines[0]!.count, 1);
    assert.equal(lines[0]!.reqId, 'r-1');
    assert.equal(lines[0]!.err?.message, 'first');
    assert.match(lines[0]!.err?.stack ?? '', /rate-limited-log\.test\.ts/);
    advance(1000);
    await settled();
    assert.equal(lines.length, 2);
    assert.deepEqual([lines[1]!.count, lines[1]!.err?.message, lines[1]!.reqId, lines[1]!.intervalMs, lines[1]!.kind], [999, 'later 0', 'r-2', 1000, 'Error:ECONNREFUSED']);
    // Quiet for a whole interval: the kind is forgotten, and the next error is logged at once.
    advance(1000);
    log.report(refused('ECONNREFUSED', 'after the quiet'));
    await settled();
    assert.deepEqual(lines.slice(2).map((line) => [line.count, line.err?.message]), [[1, 'after the quiet']]);
  });

  it('follows each kind of error apart, and lumps kinds beyond the limit together', async () => {
    const { logger, lines } = capturingLogger(() => clock);
    const log = new RateLimitedLog(logger, { level: 'warn', message: 'flush failed', interval: 500, maxKinds: 2 });
    log.report(refused('ECONNREFUSED'));
    log.report(refused('57P01'));
    log.report(new RangeError('bad value'));
    log.report(new TypeError('closed'));
    log.report('a string');
    await settled();
    assert.deepEqual(lines.map((line) => line.kind), ['Error:ECONNREFUSED', 'Error:57P01', 'other']);
    advance(500);
    await settled();
    assert.deepEqual(lines.slice(3).map((line) => [line.kind, line.count, line.err?.message]), [['other', 2, 'closed']]);
    assert.ok(lines.every((line) => line.level === 40), 'at the level asked for');
  });

  it('writes what it still counts when closed, and nothing after', async () => {
    const { logger, lines } = capturingLogger(() => clock);
    const log = new RateLimitedLog(logger, { level: 'error', message: 'm', interval: 10_000 });
    log.report(refused('ETIMEDOUT'));
    log.report(refused('ETIMEDOUT'));
    log.report(refused('ETIMEDOUT'));
    log.close();
    advance(20_000);
    await settled();
    assert.deepEqual(lines.map((line) => line.count), [1, 2]);
  });

  it('does nothing for a level the logger leaves out', async () => {
    const { logger, lines } = capturingLogger(() => clock);
    logger.level = 'info';
    const log = new RateLimitedLog(logger, { level: 'debug', message: 'poll failed' });
    log.report(refused('ECONNREFUSED'));
    log.close();
    await settled();
    assert.deepEqual(lines, []);
  });

  it('refuses a bad interval or kind limit when it is made', () => {
    const { logger } = capturingLogger(() => clock);
    assert.throws(() => new RateLimitedLog(logger, { level: 'error', message: 'm', interval: 0 }), /interval/);
    assert.throws(() => new RateLimitedLog(logger, { level: 'error', message: 'm', maxKinds: 0 }), /maxKinds/);
  });

  it('never loses a count, and never writes two lines of one kind closer than the interval', async () => {
    const kinds = ['ECONNREFUSED', 'ETIMEDOUT', '57P01'];
    const event = fc.record({ wait: fc.integer({ min: 0, max: 2500 }), kind: fc.constantFrom(...kinds) });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 200 }), fc.integer({ min: 1, max: 2000 }), async (events, interval) => {
        mock.timers.reset();
        mock.timers.enable({ apis: ['setTimeout'] });
        clock = 0;
        const { logger, lines } = capturingLogger(() => clock);
        const log = new RateLimitedLog(logger, { level: 'error', message: 'm', interval });
        for (const { wait, kind } of events) {
          advance(wait);
          log.report(refused(kind));
        }
        await settled();
        const beforeClose = lines.length;
        log.close();
        await settled();
        for (const kind of kinds) {
          const ofKind = lines.filter((line) => line.kind === `Error:${kind}`);
          const reported = events.filter((e) => e.kind === kind).length;
          assert.equal(ofKind.reduce((sum, line) => sum + line.count, 0), reported, 'every error is counted on exactly one line');
          assert.ok(ofKind.every((line) => line.count >= 1 && line.err !== undefined), 'each line names its first error');
          const timed = lines.slice(0, beforeClose).filter((line) => line.kind === `Error:${kind}`);
          for (let i = 1; i < timed.length; i++) assert.ok(timed[i]!.at - timed[i - 1]!.at >= interval, `lines ${timed[i - 1]!.at} and ${timed[i]!.at} are an interval apart`);
        }
      }),
      { numRuns: 150 },
    );
  });
});
