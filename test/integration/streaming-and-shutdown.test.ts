import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';

const MB = 1024 * 1024;
const TRANSFER_BYTES = 50 * MB;
/**
 * While the far side stalls, the gateway must hold no more than socket and stream buffers,
 * however much the near side offers: that is the test of streaming. Measured: 0–4 MB on a quiet
 * machine, up to 13 MB on a heavily loaded one (the collector lags); a gateway that buffers
 * holds the whole 50 MB. The bound sits between the two.
 */
const STALLED_GROWTH_BOUND = 20 * MB;
const STALL_MS = 1500;

/** Resident set size of a process now (VmRSS) and at its peak (VmHWM), in bytes (Linux). */
function residentBytes(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const now = /VmRSS:\s+(\d+) kB/.exec(status);
  const peak = /VmHWM:\s+(\d+) kB/.exec(status);
  if (!now || !peak) throw new Error('no VmRSS/VmHWM in /proc status');
  return { now: Number(now[1]) * 1024, peak: Number(peak[1]) * 1024 };
}

const megabytes = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/**
 * Growth of the resident set over `baseline` while a peer stalls, sampled three times across
 * `window` ms; the smallest sample is returned. Data a gateway buffered stays resident for the
 * whole stall, so every sample would show it; a passing spike (the collector's young generation
 * growing under load) shows in one sample at most.
 */
async function stalledGrowth(pid: number, baseline: number, window: number): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < 3; index++) {
    await new Promise((resolve) => setTimeout(resolve, window / 4));
    samples.push(residentBytes(pid).now - baseline);
  }
  return Math.min(...samples);
}

/** A deterministic stream of `total` bytes in 64 KiB chunks. */
function patternStream(total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  for (let index = 0; index < chunk.length; index++) chunk[index] = index % 251;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(chunk.length, total - sent);
      sent += size;
      this.push(size === chunk.length ? chunk : chunk.subarray(0, size));
    },
  });
}

describe('streaming bodies through a gateway process', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: GatewayProcess;
  let key: string;
  let expectedHash: string;
  const uploads: Array<{ bytes: number; sha256: string }> = [];

  before(async () => {
    const hash = createHash('sha256');
    for await (const chunk of patternStream(TRANSFER_BYTES)) hash.update(chunk as Buffer);
    expectedHash = hash.digest('hex');
    upstream = await startRecordingUpstream((req, res) => {
      if (req.method === 'POST') {
        // A slow reader: nothing for the first second, so a buffering gateway would hold the upload.
        req.pause();
        setTimeout(() => req.resume(), STALL_MS);
        const uploadHash = createHash('sha256');
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          uploadHash.update(chunk);
        });
        req.on('end', () => {
          uploads.push({ bytes, sha256: uploadHash.digest('hex') });
          res.end(JSON.stringify({ bytes }));
        });
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      patternStream(TRANSFER_BYTES).pipe(res);
    });
    ({ key } = await createKeyInStore(storePath));
    gateway = await spawnGateway(['--upstream', upstream.url, '--store', storePath]);
    const warm = await request(`${gateway.url}/warm`, { method: 'POST', body: 'x', headers: { 'x-api-key': key } });
    await warm.body.dump();
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('streams a 50 MB upload to a stalled upstream without buffering it', async () => {
    const pid = gateway.child.pid as number;
    const baseline = residentBytes(pid);
    const upload = request(`${gateway.url}/upload`, { method: 'POST', body: patternStream(TRANSFER_BYTES), headers: { 'x-api-key': key, 'content-type': 'application/octet-stream' } });
    const stalled = await stalledGrowth(pid, baseline.now, STALL_MS - 300);
    const response = await upload;
    assert.equal(response.statusCode, 200);
    assert.deepEqual(await response.body.json(), { bytes: TRANSFER_BYTES });
    assert.deepEqual(uploads.at(-1), { bytes: TRANSFER_BYTES, sha256: expectedHash });
    const peakGrowth = residentBytes(pid).peak - baseline.peak;
    process.stdout.write(`# upload: gateway RSS +${megabytes(stalled)} while the upstream stalled; peak +${megabytes(peakGrowth)} over the 50 MB transfer\n`);
    // Only the stalled figure is asserted: the peak also holds garbage the collector has not
    // reclaimed yet, which depends on machine load, not on buffering.
    assert.ok(stalled < STALLED_GROWTH_BOUND, `RSS grew by ${megabytes(stalled)} while the upstream read nothing`);
  });

  it('streams a 50 MB download to a stalled client without buffering it', async () => {
    const pid = gateway.child.pid as number;
    const baseline = residentBytes(pid);
    const download = await request(`${gateway.url}/download`, { headers: { 'x-api-key': key } });
    assert.equal(download.statusCode, 200);
    // The client reads nothing for a while: a buffering gateway would now hold the body.
    const stalled = await stalledGrowth(pid, baseline.now, STALL_MS);
    const downloadHash = createHash('sha256');
    let received = 0;
    for await (const chunk of download.body) {
      received += (chunk as Buffer).length;
      downloadHash.update(chunk as Buffer);
    }
    assert.equal(received, TRANSFER_BYTES);
    assert.equal(downloadHash.digest('hex'), expectedHash);
    const peakGrowth = residentBytes(pid).peak - baseline.peak;
    process.stdout.write(`# download: gateway RSS +${megabytes(stalled)} while the client stalled; peak +${megabytes(peakGrowth)} over the 50 MB transfer\n`);
    assert.ok(stalled < STALLED_GROWTH_BOUND, `RSS grew by ${megabytes(stalled)} while the client read nothing`);
  });
});

describe('graceful shutdown on SIGTERM', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let releaseSlowResponse: () => void = () => {};
  let slowRequestArrived: Promise<void>;

  before(async () => {
    let arrived: () => void = () => {};
    slowRequestArrived = new Promise((resolve) => (arrived = resolve));
    upstream = await startRecordingUpstream((_req, res) => {
      // Headers and half the body now, the rest only when the test says so.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.write('first-');
      arrived();
      releaseSlowResponse = () => res.end('half');
    });
  });
  after(async () => {
    await upstream.close();
    directory.remove();
  });

  it('delivers an in-flight slow response in full, accepts no new connection, and exits 0', async () => {
    const { key } = await createKeyInStore(storePath);
    const gateway = await spawnGateway(['--upstream', upstream.url, '--store', storePath]);
    const port = Number(new URL(gateway.url).port);
    const inFlight = request(`${gateway.url}/slow`, { headers: { 'x-api-key': key } }).then(async (response) => ({ status: response.statusCode, body: await response.body.text() }));
    await slowRequestArrived;

    gateway.child.kill('SIGTERM');
    // Once the gateway says its listener is closed, the very next connection must be refused:
    // no retries, and no guess at how long a loaded machine takes to deliver the signal.
    const hangsAfter = Date.now() + 60_000;
    while (!gateway.stdout().includes('public listener closed')) {
      assert.equal(gateway.child.exitCode, null, 'exited before saying its listener closed');
      assert.ok(Date.now() < hangsAfter, 'the listener was not closed within 60 s of SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    assert.ok(refused, 'a new connection is refused once the listener is closed');
    assert.equal(gateway.child.exitCode, null, 'still running while a request is in flight');

    releaseSlowResponse();
    const result = await inFlight;
    assert.deepEqual(result, { status: 200, body: 'first-half' });
    assert.equal(await gateway.exited, 0);
  });
});

describe('upstream failures', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  after(() => directory.remove());

  it('answers 502 upstream_unavailable when the upstream is down and 504 upstream_timeout when it is slow', async () => {
    const { key } = await createKeyInStore(storePath);
    const down = await startRecordingUpstream();
    const downUrl = down.url;
    await down.close();
    const silent = await startRecordingUpstream(() => {
      /* never answers */
    });
    const gatewayDown = await spawnGateway(['--upstream', downUrl, '--store', storePath]);
    const gatewaySlow = await spawnGateway(['--upstream', silent.url, '--store', storePath], { env: { PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT: '300ms' } });
    try {
      const unavailable = await request(`${gatewayDown.url}/x`, { headers: { 'x-api-key': key } });
      assert.equal(unavailable.statusCode, 502);
      assert.equal(((await unavailable.body.json()) as { code: string }).code, 'upstream_unavailable');
      const slow = await request(`${gatewaySlow.url}/x`, { headers: { 'x-api-key': key } });
      assert.equal(slow.statusCode, 504);
      assert.equal(((await slow.body.json()) as { code: string }).code, 'upstream_timeout');
    } finally {
      await gatewayDown.stop();
      await gatewaySlow.stop();
      await silent.close();
    }
  });
});
