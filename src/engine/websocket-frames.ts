import { randomBytes } from 'node:crypto';

/**
 * WebSocket frame headers (RFC 6455 §5.2), read in a byte stream that the gateway relays
 * unchanged. Only headers are read: payloads pass through as they are, masked or not, never
 * buffered, so a tunnel costs what a byte pipe costs plus a few bytes of state. Reading the
 * headers is enough to bound a message's size before its bytes are relayed, and to refuse
 * frames a conforming peer never sends.
 *
 * No extension is ever in use on a tunnel (the gateway removes `Sec-WebSocket-Extensions`
 * from the handshake), so a frame's payload length is the size of its data and every RSV bit
 * must be 0 (§5.2): a compressed stream could carry a message far larger than its frames.
 */

/** Why the relay of one direction stopped: the close code (RFC 6455 §7.4.1) and its reason. */
export interface FrameViolation {
  /** 1002 protocol error, 1009 message too big. */
  readonly code: 1002 | 1009;
  readonly reason: string;
}

interface FrameInspectorOptions {
  /** Largest message (all fragments of it together), in bytes. */
  maxMessageSize: number;
  /** Whether the frames must be masked: true from a client (§5.3), false from a server. */
  masked: boolean;
}

const OPCODE_CONTINUATION = 0;
const OPCODE_TEXT = 1;
const OPCODE_BINARY = 2;
const OPCODE_CLOSE = 8;
const OPCODE_PONG = 10;
/** A control frame's payload is at most 125 bytes (§5.5). */
const MAX_CONTROL_PAYLOAD = 125;
const NOTHING_HELD = Buffer.alloc(0);

/**
 * One direction of a tunnel. `relayable(chunk)` returns the bytes that may be relayed now: the
 * chunk, minus a frame header cut off at its end (held until the rest comes, at most 13 bytes),
 * and minus everything from the first frame that breaks a rule. After such a frame,
 * `violation` says why and nothing more is relayed, so the receiver never sees a byte of it,
 * and the stream it received ends between two frames.
 */
export class FrameInspector {
  readonly #maxMessageSize: number;
  readonly #masked: boolean;
  /** Payload bytes of the current frame still to come. */
  #payloadLeft = 0;
  /** Bytes of the current message so far (all its data frames). */
  #messageSize = 0;
  /** Inside a fragmented message: its first frame had FIN 0, its last has not come. */
  #fragmented = false;
  #held: Buffer = NOTHING_HELD;
  violation: FrameViolation | null = null;

  constructor(options: FrameInspectorOptions) {
    this.#maxMessageSize = options.maxMessageSize;
    this.#masked = options.masked;
  }

  /**
   * Whether what was relayed so far ends between two frames, so that a frame of the gateway's
   * own (a close frame) may follow it.
   */
  get betweenFrames(): boolean {
    return this.#payloadLeft === 0;
  }

  relayable(chunk: Buffer): Buffer {
    if (this.violation !== null) return NOTHING_HELD;
    const input = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    this.#held = NOTHING_HELD;
    let position = 0;
    while (position < input.length) {
      if (this.#payloadLeft > 0) {
        const taken = Math.min(this.#payloadLeft, input.length - position);
        this.#payloadLeft -= taken;
        position += taken;
        continue;
      }
      const headerLength = this.#readHeader(input, position);
      if (headerLength === 0) {
        // Cut off: held back (copied, a few bytes) until the rest of the header comes.
        this.#held = Buffer.from(input.subarray(position));
        return input.subarray(0, position);
      }
      if (headerLength < 0) return input.subarray(0, position);
      position += headerLength;
    }
    return input;
  }

  /** The header's length when whole and allowed (its payload is then expected); 0 when cut off; -1 after setting `violation`. */
  #readHeader(input: Buffer, at: number): number {
    const available = input.length - at;
    if (available < 2) return 0;
    const first = input[at] as number;
    const second = input[at + 1] as number;
    // Known from the first two bytes: a cut-off header is not held back waiting for a mask it will never have.
    if (((second & 0x80) !== 0) !== this.#masked) return this.#refuse(1002, this.#masked ? 'client frame not masked' : 'server frame masked');
    const lengthField = second & 0x7f;
    const extended = lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0;
    const headerLength = 2 + extended + (this.#masked ? 4 : 0);
    if (available < headerLength) return 0;
    let payloadLength = lengthField;
    if (extended === 2) payloadLength = input.readUInt16BE(at + 2);
    else if (extended === 8) {
      const high = input.readUInt32BE(at + 2);
      // The most significant bit must be 0 (§5.2); above 2^53 a length is not exact as a number.
      if (high >= 0x200000) return this.#refuse(high >= 0x80000000 ? 1002 : 1009, high >= 0x80000000 ? 'invalid frame length' : 'message too big');
      payloadLength = high * 0x100000000 + input.readUInt32BE(at + 6);
    }
    const problem = this.#frameProblem(first, payloadLength);
    if (problem !== null) return this.#refuse(problem.code, problem.reason);
    this.#payloadLeft = payloadLength;
    return headerLength;
  }

  /** What is wrong with a frame, by its first byte and its payload length; null when nothing is (and the message is counted). */
  #frameProblem(first: number, payloadLength: number): FrameViolation | null {
    if ((first & 0x70) !== 0) return { code: 1002, reason: 'reserved bits set' };
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if (opcode >= OPCODE_CLOSE) {
      if (opcode > OPCODE_PONG) return { code: 1002, reason: 'unknown opcode' };
      if (!fin || payloadLength > MAX_CONTROL_PAYLOAD) return { code: 1002, reason: 'invalid control frame' };
      return null;
    }
    if (opcode === OPCODE_CONTINUATION) {
      if (!this.#fragmented) return { code: 1002, reason: 'continuation without a message' };
      this.#messageSize += payloadLength;
    } else if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
      if (this.#fragmented) return { code: 1002, reason: 'new message inside a fragmented one' };
      this.#messageSize = payloadLength;
    } else return { code: 1002, reason: 'unknown opcode' };
    if (this.#messageSize > this.#maxMessageSize) return { code: 1009, reason: 'message too big' };
    this.#fragmented = !fin;
    return null;
  }

  #refuse(code: 1002 | 1009, reason: string): -1 {
    this.violation = { code, reason };
    return -1;
  }
}

/**
 * A close frame (§5.5.1) with `code` and `reason` (cut to the 123 bytes a control frame
 * leaves for it), masked with a fresh key when the gateway sends it as the client (upstream).
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  let text = Buffer.from(reason, 'utf8');
  if (text.length > MAX_CONTROL_PAYLOAD - 2) text = Buffer.from(reason.slice(0, MAX_CONTROL_PAYLOAD - 2).replace(/[^\x20-\x7e]/g, ''), 'latin1').subarray(0, MAX_CONTROL_PAYLOAD - 2);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  if (!masked) return Buffer.concat([Buffer.from([0x80 | OPCODE_CLOSE, payload.length]), payload]);
  const mask = randomBytes(4);
  for (let index = 0; index < payload.length; index++) payload[index] = (payload[index] as number) ^ (mask[index % 4] as number);
  return Buffer.concat([Buffer.from([0x80 | OPCODE_CLOSE, 0x80 | payload.length]), mask, payload]);
}
