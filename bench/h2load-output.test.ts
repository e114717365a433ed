import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { h2loadFigures, nearestRank, parseH2loadCounts, parseH2loadLog } from './h2load-output.ts';
import { errorCount } from './wrk-output.ts';

// Reports captured from h2load (nghttp2 1.52.0, Debian nghttp2-client) with `-c N -m 1 -t 1 -D s -N 2`
// against bench/peers/bare-h2-proxy.ts (progress lines left out).
const cleanReport = `starting benchmark...
spawning thread #0: 50 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
Warm-up started for thread #0.
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Server Temp Key: X25519 253 bits
Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 2.06s, 3014.50 req/s, 390.44KB/s
requests: 6029 total, 6079 started, 6029 done, 6029 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 6029 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 780.89KB (799628) total, 49.93KB (51132) headers (space savings 90.25%), 571.11KB (584813) data
                     min         max         mean         sd        +/- sd
time for request:     4.01ms     91.07ms     14.71ms     10.17ms    91.39%
time for connect:    72.03ms    178.59ms    120.99ms     32.76ms    64.00%
time to 1st byte:   212.54ms    240.04ms    222.25ms      6.40ms    82.00%
req/s           :      57.92       61.94       60.22        0.87    80.00%
`;

// The proxy's upstream stopped: every answer a 502.
const badGatewayReport = `starting benchmark...
spawning thread #0: 5 total client(s). Timing-based test with 0s of warm-up time and 1s of main duration for measurements.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.01s, 448.00 req/s, 25.86KB/s
requests: 448 total, 453 started, 448 done, 0 succeeded, 448 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 450 5xx
traffic: 25.86KB (26477) total, 3.81KB (3905) headers (space savings 90.03%), 10.11KB (10350) data
                     min         max         mean         sd        +/- sd
time for request:      928us     95.71ms     10.42ms     14.21ms    91.74%
time for connect:    43.55ms     47.82ms     45.86ms      1.72ms    60.00%
time to 1st byte:   142.97ms    143.67ms    143.39ms       306us    80.00%
req/s           :      87.82       90.82       89.42        1.14    60.00%
`;

// Nothing listening on the port: h2load reports no request at all, and no failure.
const refusedReport = `starting benchmark...
spawning thread #0: 2 total client(s). Timing-based test with 0s of warm-up time and 1s of main duration for measurements.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.02s, 0.00 req/s, 0B/s
requests: 0 total, 0 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 0B (0) total, 0B (0) headers (space savings 0.00%), 0B (0) data
                     min         max         mean         sd        +/- sd
time for request:        0us         0us         0us         0us     0.00%
time for connect:        0us         0us         0us         0us     0.00%
time to 1st byte:        0us         0us         0us         0us     0.00%
req/s           :       0.00        0.00        0.00        0.00   100.00%
`;

// The first 12 lines of the --log-file of a clean run (rows are in end-of-response order).
const cleanLog = `1796219936632267\t200\t20108
1796219936633164\t200\t19395
1796219936633318\t200\t19269
1796219936633365\t200\t19250
1796219936634811\t200\t17870
1796219936634800\t200\t17997
1796219936634755\t200\t18070
1796219936634710\t200\t18147
1796219936634661\t200\t18225
1796219936634614\t200\t18299
1796219936634568\t200\t18370
1796219936634519\t200\t18444
`;

const badGatewayLog = `1796219953968066\t502\t95093
1796219953968209\t502\t95271
1796219953968177\t502\t95557
`;

describe('parseH2loadCounts', () => {
  it('reads req/s and the request counts of a clean run', () => {
    assert.deepEqual(parseH2loadCounts(cleanReport), { requestsPerSecond: 3014.5, done: 6029, succeeded: 6029, failed: 0, errored: 0, timeout: 0 });
  });

  it('reads failed requests', () => {
    assert.deepEqual(parseH2loadCounts(badGatewayReport), { requestsPerSecond: 448, done: 448, succeeded: 0, failed: 448, errored: 0, timeout: 0 });
  });

  it('throws on text that is not an h2load report', () => {
    assert.throws(() => parseH2loadCounts('h2load: invalid URI\n'), /no "finished in" line/);
    assert.throws(() => parseH2loadCounts(cleanReport.replace(/^requests:.*$/m, '')), /no "requests:" line/);
  });
});

describe('parseH2loadLog and percentiles', () => {
  it('reads the third column as milliseconds', () => {
    assert.deepEqual(parseH2loadLog(badGatewayLog), [95.093, 95.271, 95.557]);
  });

  it('refuses a line that is not a log line', () => {
    assert.throws(() => parseH2loadLog('1796219953968066\t502\n'), /not an h2load log line/);
    assert.throws(() => parseH2loadLog('a\tb\tc\n'), /not an h2load log line/);
  });

  it('nearest rank: the least value with that share of values at or below it', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(nearestRank(sorted, 50), 5);
    assert.equal(nearestRank(sorted, 90), 9);
    assert.equal(nearestRank(sorted, 99), 10);
    assert.equal(nearestRank([7], 50), 7);
    assert.throws(() => nearestRank([], 50));
  });
});

describe('h2loadFigures', () => {
  it('a clean run: req/s and requests from the report, percentiles from the log', () => {
    const figures = h2loadFigures(cleanReport, cleanLog, 50);
    assert.equal(figures.requestsPerSecond, 3014.5);
    assert.equal(figures.requests, 6029);
    // Sorted: 17.870 17.997 18.070 18.147 18.225 18.299 18.370 18.444 19.250 19.269 19.395 20.108 (12 values).
    assert.deepEqual(figures.latencyMs, { p50: 18.299, p75: 19.25, p90: 19.395, p99: 20.108 });
    assert.equal(errorCount(figures), 0);
  });

  it('answers outside 2xx/3xx count as non2xx3xx, so the run fails', () => {
    const figures = h2loadFigures(badGatewayReport, badGatewayLog, 5);
    assert.equal(figures.non2xx3xx, 448);
    assert.equal(errorCount(figures), 448);
  });

  it('a run that got nothing done counts a connect error per connection', () => {
    const figures = h2loadFigures(refusedReport, '', 2);
    assert.equal(figures.requests, 0);
    assert.equal(figures.socketErrors.connect, 2);
    assert.equal(errorCount(figures), 2);
  });
});
