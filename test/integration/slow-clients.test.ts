import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the server sent and how long it took to close the connection. */
function untilClosed(socket: Socket): Promise<{ text: string; ms: number }> {
  const started = performance.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve({ text, ms: performance.now() - started })));
}

describe('protection from slow and greedy clients', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let port: number;

  before(async () => {
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, join(directory.path, 'k.db'), {
      env: { PORTCULLIS_SERVER_HEADERS_TIMEOUT: '400ms', PORTCULLIS_SERVER_KEEP_ALIVE_TIMEOUT: '300ms', PORTCULLIS_SERVER_MAX_CONNECTIONS: '3' },
    });
    port = Number(new URL(gateway.url).port);
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('drops a client that never finishes its headers (slow loris)', async () => {
    const socket = await openSocket(port);
    const closed = untilClosed(socket);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const timer = setInterval(() => socket.write('a'), 100); // trickles forever
    const { text, ms } = await closed;
    clearInterval(timer);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(ms < 5000, `closed after ${ms.toFixed(0)} ms`);
  });

  it('closes idle keep-alive connections', async () => {
    const socket = await openSocket(port);
    const closed = untilClosed(socket);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const { text } = await closed;
    assert.match(text, /^HTTP\/1\.1 401 /, 'answered, then closed when idle');
  });

  it('refuses connections beyond the configured maximum', async () => {
    const held = await Promise.all([openSocket(port), openSocket(port), openSocket(port)]);
    for (const socket of held) socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Hold: '); // keep them busy, not idle
    const extra = await openSocket(port);
    const closed = untilClosed(extra);
    extra.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); // a complete request: only the limit can refuse it
    const { text } = await closed;
    assert.equal(text, '', 'the extra connection is closed without an answer');
    for (const socket of held) socket.destroy();
  });
});
