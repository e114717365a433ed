import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, prettyLogLine } from './logger.ts';

describe('logger', () => {
  it('writes JSON lines, keys redacted, when the destination is not a terminal', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    createLogger('info', sink).info({ key: 'pcl_secret', listen: '127.0.0.1:8080' }, 'gateway listening');
    const record = JSON.parse(lines.join('')) as Record<string, unknown>;
    assert.equal(record.msg, 'gateway listening');
    assert.equal(record.key, '[redacted]');
  });

  it('prints a line for a person on a terminal: time, level, message, fields, and the stack of an error', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2030, 0, 1, 12, 4, 5, 123), pid: 1, hostname: 'h', service: 'portcullis', listen: '127.0.0.1:8080', reason: 'two words', msg: 'slow upstream' });
    assert.equal(prettyLogLine(line, false), '12:04:05.123 WARN  slow upstream  listen=127.0.0.1:8080 reason="two words"\n');
    assert.match(prettyLogLine(line, true), /\u001b\[33mWARN \u001b\[0m slow upstream/);
    const failed = prettyLogLine(JSON.stringify({ level: 50, time: 0, msg: 'store lost', err: { message: 'down', stack: 'Error: down\n    at x' } }), false);
    assert.equal(failed, '00:00:00.000 ERROR store lost\n    Error: down\n        at x\n');
    assert.equal(prettyLogLine('not json', false), 'not json\n');
  });
});
