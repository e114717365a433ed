import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCount, parseWrkOutput, parseWrkTime } from './wrk-output.ts';

// Reports captured from wrk 4.1.0 (Debian package) on this project's bench peers.
const cleanReport = `Running 1s test @ http://127.0.0.1:35423/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.64ms    1.89ms  45.33ms   95.62%
    Req/Sec    19.68k     3.88k   23.68k    63.64%
  Latency Distribution
     50%  928.00us
     75%    2.87ms
     90%    3.69ms
     99%    1.20s
  21510 requests in 1.10s, 5.19MB read
Requests/sec:  19507.34
Transfer/sec:      4.71MB
`;

const failingReport = `Running 1s test @ http://127.0.0.1:38911/nope
  1 threads and 5 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.36ms    2.88ms  34.51ms   97.12%
    Req/Sec     1.60k   204.95     1.73k    90.91%
  Latency Distribution
     50%    2.89ms
     75%    3.39ms
     90%    3.96ms
     99%   21.00ms
  1752 requests in 1.10s, 0.87MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 1752
Requests/sec:   1592.92
Transfer/sec:    809.07KB
`;

describe('parseWrkTime', () => {
  const cases: Array<[string, number]> = [
    ['551.00us', 0.551],
    ['1.02ms', 1.02],
    ['2.10s', 2100],
    ['1.50m', 90_000],
    ['1.00h', 3_600_000],
  ];
  for (const [text, ms] of cases) {
    it(`reads ${text} as ${ms} ms`, () => {
      assert.ok(Math.abs(parseWrkTime(text) - ms) < 1e-9);
    });
  }

  it('refuses what is not a wrk time', () => {
    assert.throws(() => parseWrkTime('12'), /not a wrk time/);
    assert.throws(() => parseWrkTime('1.0ns'), /not a wrk time/);
  });
});

describe('parseWrkOutput', () => {
  it('reads rate, request count and percentiles, converting units to ms', () => {
    const figures = parseWrkOutput(cleanReport);
    assert.equal(figures.requestsPerSecond, 19507.34);
    assert.equal(figures.requests, 21510);
    assert.ok(Math.abs(figures.latencyMs.p50 - 0.928) < 1e-9);
    assert.equal(figures.latencyMs.p75, 2.87);
    assert.equal(figures.latencyMs.p90, 3.69);
    assert.equal(figures.latencyMs.p99, 1200);
    assert.equal(errorCount(figures), 0);
  });

  it('counts non-2xx/3xx answers and socket errors', () => {
    const figures = parseWrkOutput(failingReport);
    assert.equal(figures.non2xx3xx, 1752);
    assert.deepEqual(figures.socketErrors, { connect: 0, read: 3, write: 1, timeout: 2 });
    assert.equal(errorCount(figures), 1758);
  });

  it('fails loudly without the latency distribution', () => {
    const withoutLatency = cleanReport.replace(/ {2}Latency Distribution[\s\S]*?(?= {2}21510)/, '');
    assert.throws(() => parseWrkOutput(withoutLatency), /--latency/);
  });

  it('fails loudly on something that is not a wrk report', () => {
    assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused'), /Requests\/sec/);
  });
});
