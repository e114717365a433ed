import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { closeFrame, FrameInspector } from './websocket-frames.ts';

interface TestFrame {
  fin: boolean;
  opcode: number;
  length: number;
}

/** A frame's bytes: header (7-, 16- or 64-bit length; masked or not) and a payload of `length` bytes. */
function encode(frame: TestFrame, masked: boolean, first = (frame.fin ? 0x80 : 0) | frame.opcode): Buffer {
  const { length } = frame;
  const lengthBytes = length < 126 ? Buffer.alloc(0) : length < 0x10000 ? Buffer.alloc(2) : Buffer.alloc(8);
  if (lengthBytes.length === 2) lengthBytes.writeUInt16BE(length);
  if (lengthBytes.length === 8) lengthBytes.writeBigUInt64BE(BigInt(length));
  const field = length < 126 ? length : length < 0x10000 ? 126 : 127;
  return Buffer.concat([Buffer.from([first, (masked ? 0x80 : 0) | field]), lengthBytes, masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), Buffer.alloc(length, 0x61)]);
}

/** Feeds `bytes` in pieces cut at `cuts` and joins what the inspector lets through. */
function relay(inspector: FrameInspector, bytes: Buffer, cuts: number[]): Buffer {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    out.push(inspector.relayable(bytes.subarray(from, point)));
    from = point;
  }
  return Buffer.concat(out);
}

/** A valid message: one frame, or fragments (continuations) with pings between them. */
const message = fc.tuple(fc.constantFrom(1, 2), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([opcode, sizes, ping]) =>
  sizes.flatMap((length, index): TestFrame[] => [
    ...(ping && index > 0 ? [{ fin: true, opcode: 9, length: 3 }] : []),
    { fin: index === sizes.length - 1, opcode: index === 0 ? opcode : 0, length },
  ]),
);

describe('FrameInspector', () => {
  it('relays valid frames byte for byte, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 5 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 8 }), (messages, masked, cuts) => {
        const bytes = Buffer.concat(messages.flat().map((frame) => encode(frame, masked)));
        const inspector = new FrameInspector({ maxMessageSize: 1000, masked });
        assert.deepEqual(relay(inspector, bytes, cuts), bytes);
        assert.equal(inspector.violation, null);
        assert.equal(inspector.betweenFrames, true);
      }),
    );
  });

  it('stops exactly before the frame that makes a message too big, fragments counted together', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 400 }), fc.array(fc.nat(), { maxLength: 8 }), (firstPart, secondPart, cuts) => {
        const max = 500;
        const before = encode({ fin: true, opcode: 2, length: 10 }, true);
        const parts = Buffer.concat([encode({ fin: false, opcode: 1, length: firstPart }, true), encode({ fin: true, opcode: 0, length: secondPart }, true)]);
        const inspector = new FrameInspector({ maxMessageSize: max, masked: true });
        const out = relay(inspector, Buffer.concat([before, parts]), cuts);
        if (firstPart + secondPart <= max) {
          assert.equal(inspector.violation, null);
          assert.equal(out.length, before.length + parts.length);
        } else {
          assert.deepEqual(inspector.violation, { code: 1009, reason: 'message too big' });
          // The first fragment passed; the second, which crosses the limit, not one byte of it.
          assert.equal(out.length, before.length + 2 + (firstPart < 126 ? 0 : 2) + 4 + firstPart);
        }
      }),
    );
  });

  it('refuses a too-big length before any of the frame is relayed (64-bit length included)', () => {
    const inspector = new FrameInspector({ maxMessageSize: 1 << 20, masked: false });
    const header = Buffer.from([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.equal(inspector.relayable(header).length, 0);
    assert.equal(inspector.violation?.code, 1009);
    assert.equal(inspector.relayable(Buffer.from([0x81, 0])).length, 0, 'nothing more after a violation');
  });

  const refusals: Array<[string, Buffer, boolean]> = [
    ['an unmasked client frame', encode({ fin: true, opcode: 1, length: 3 }, false), true],
    ['a masked server frame', encode({ fin: true, opcode: 1, length: 3 }, true), false],
    ['reserved bits (compression not negotiated)', encode({ fin: true, opcode: 1, length: 3 }, true, 0xc1), true],
    ['an unknown opcode', encode({ fin: true, opcode: 3, length: 0 }, true), true],
    ['a fragmented control frame', encode({ fin: false, opcode: 9, length: 0 }, true), true],
    ['a control frame over 125 bytes', encode({ fin: true, opcode: 8, length: 126 }, true), true],
    ['a continuation without a message', encode({ fin: true, opcode: 0, length: 1 }, true), true],
    ['a new message inside a fragmented one', Buffer.concat([encode({ fin: false, opcode: 1, length: 1 }, true), encode({ fin: true, opcode: 2, length: 1 }, true)]), true],
  ];
  for (const [name, bytes, masked] of refusals) {
    it(`refuses ${name} with 1002`, () => {
      const inspector = new FrameInspector({ maxMessageSize: 1000, masked });
      const out = inspector.relayable(bytes);
      assert.equal(inspector.violation?.code, 1002);
      assert.ok(out.length < bytes.length);
    });
  }

  it('knows when the relayed bytes end inside a frame', () => {
    const inspector = new FrameInspector({ maxMessageSize: 1000, masked: false });
    const frame = encode({ fin: true, opcode: 2, length: 50 }, false);
    inspector.relayable(frame.subarray(0, 20));
    assert.equal(inspector.betweenFrames, false);
    inspector.relayable(frame.subarray(20));
    assert.equal(inspector.betweenFrames, true);
  });
});

describe('closeFrame', () => {
  it('encodes code and reason, unmasked to a client and masked to a server', () => {
    const plain = closeFrame(1008, 'key revoked', false);
    assert.deepEqual([...plain.subarray(0, 4)], [0x88, 13, 0x03, 0xf0]);
    assert.equal(plain.subarray(4).toString(), 'key revoked');
    const masked = closeFrame(1008, 'key revoked', true);
    assert.equal(masked[1], 0x80 | 13);
    const mask = masked.subarray(2, 6);
    const payload = Buffer.from(masked.subarray(6).map((byte, index) => byte ^ (mask[index % 4] as number)));
    assert.equal(payload.readUInt16BE(0), 1008);
    assert.equal(payload.subarray(2).toString(), 'key revoked');
    // Both pass the inspector of their direction.
    assert.equal(new FrameInspector({ maxMessageSize: 0, masked: true }).relayable(masked).length, masked.length);
  });

  it('cuts a long reason to fit a control frame', () => {
    const frame = closeFrame(1008, 'x'.repeat(400), false);
    assert.equal(frame[1], 125);
  });
});
