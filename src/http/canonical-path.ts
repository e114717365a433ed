/**
 * The one path canonicaliser (DESIGN.md, *Paths*). The gateway and the upstream must agree on
 * which path a request names, or a route rule can be bypassed: `/public/..%2Fadmin`,
 * `/ADMIN`, `/admin;x` or `/%61dmin` reach `/admin` on some servers and not on others. So the
 * gateway decides one canonical spelling, matches routes against it and forwards exactly it.
 *
 * The canonical form of a path (RFC 3986 §6.2.2, made strict):
 * - it is `/` or `/segment(/segment)*`, with no empty segment (no `//`, no trailing `/`) and no
 *   `.` or `..` segment (§5.2.4);
 * - percent-encodings use upper-case hex (§6.2.2.1) and never encode an unreserved character
 *   (ALPHA, DIGIT, `-`, `.`, `_`, `~`; §6.2.2.2), so `/%61dmin` is not another spelling of `/admin`;
 * - the characters that RFC 3986 does not allow raw in a path (`"` `<` `>` `[` `]` `^` `` ` ``
 *   `{` `|` `}`) are percent-encoded.
 *
 * Whatever the policy, a path is refused outright when no spelling of it is safe: an encoded
 * `/` or `\` (`%2F`, `%5C`: one server splits on it, another does not), a raw `\` (read as `/`
 * by some servers), `;` (Tomcat and others cut a segment at it: `/admin;x` is `/admin` there),
 * `#`, control bytes raw or encoded (`%00`–`%1F`, `%7F`), invalid percent-encoding (`%`, `%2`,
 * `%zz`), percent-encoded bytes that are not valid UTF-8 (including overlong forms such as
 * `%C0%AE`, which lax decoders read as `.`), and `..` that would climb above the root.
 *
 * Under the `refuse` policy (the default) any other non-canonical path is refused too; under
 * `normalise` it is rewritten to its canonical form. The query string is left as it is.
 */

export type NonCanonicalPolicy = 'refuse' | 'normalise';

/** Why a target was refused. The detail is fixed text: it never echoes the client's path. */
export interface PathRefusal {
  readonly refused: true;
  readonly detail: string;
}

function refusal(detail: string): PathRefusal {
  return { refused: true, detail };
}

export const PATH_REFUSALS = {
  backslash: refusal('The path contains a backslash ("\\"), which some servers read as "/".'),
  hash: refusal('The request target contains "#"; a fragment is never sent to a server.'),
  semicolon: refusal('The path contains ";", which some servers read as the start of path parameters.'),
  character: refusal('The path contains a control, space or non-ASCII character; percent-encode it as UTF-8.'),
  mustEncode: refusal('The path contains a character that must be percent-encoded (one of " < > [ ] ^ ` { | }).'),
  invalidPercent: refusal('The path contains a "%" that is not followed by two hexadecimal digits.'),
  encodedSeparator: refusal('The path contains an encoded "/" or "\\" (%2F, %5C).'),
  encodedControl: refusal('The path contains an encoded control character (%00-%1F or %7F).'),
  invalidUtf8: refusal('The path contains percent-encoded bytes that are not valid UTF-8 (or an overlong form).'),
  encodedDot: refusal('The path contains an encoded "." (%2E); send "." itself.'),
  encodedUnreserved: refusal('The path percent-encodes a letter, digit or one of - . _ ~; send the character itself.'),
  lowercaseHex: refusal('The path uses lower-case hexadecimal in a percent-encoding; use upper case (%C3%A9).'),
  emptySegment: refusal('The path has an empty segment ("//" or a trailing "/").'),
  dotSegment: refusal('The path has a "." or ".." segment.'),
  aboveRoot: refusal('The path climbs above the root with "..".'),
} as const;

// Character classes of ASCII in a path: what a canonical path may hold raw, and what not.
const PLAIN = 0; // unreserved, sub-delims but ";", ":" and "@": allowed raw
const SLASH = 1;
const PERCENT = 2;
const MUST_ENCODE = 3; // " < > [ ] ^ ` { | }
const BACKSLASH = 4;
const HASH = 5;
const SEMICOLON = 6;
const FORBIDDEN = 7; // controls, space, DEL

const CLASS = new Uint8Array(128).fill(FORBIDDEN);
for (const character of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@") CLASS[character.charCodeAt(0)] = PLAIN;
for (const character of '"<>[]^`{|}') CLASS[character.charCodeAt(0)] = MUST_ENCODE;
CLASS[0x2f] = SLASH;
CLASS[0x25] = PERCENT;
CLASS[0x5c] = BACKSLASH;
CLASS[0x23] = HASH;
CLASS[0x3b] = SEMICOLON;

const UNRESERVED = new Uint8Array(128);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[character.charCodeAt(0)] = 1;

const HEX = '0123456789ABCDEF';

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function isLowerHex(code: number): boolean {
  return code >= 97 && code <= 102;
}

function percentEncoded(byte: number): string {
  return `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
}

/** Whether `path` (no query) is canonical, checked in one pass without allocating. */
function isCanonicalFast(path: string): boolean {
  const length = path.length;
  let segmentStart = 1;
  for (let index = 1; index < length; index++) {
    const code = path.charCodeAt(index);
    if (code >= 128) return false;
    const kind = CLASS[code];
    if (kind === PLAIN) continue;
    if (kind !== SLASH) return false;
    if (isEmptyOrDotSegment(path, segmentStart, index)) return false;
    segmentStart = index + 1;
  }
  return length === 1 || !isEmptyOrDotSegment(path, segmentStart, length);
}

function isEmptyOrDotSegment(path: string, start: number, end: number): boolean {
  const size = end - start;
  if (size === 0) return true;
  if (size > 2 || path.charCodeAt(start) !== 46) return false;
  return size === 1 || path.charCodeAt(start + 1) === 46;
}

/** Expected UTF-8 sequence length for a lead byte, or 0 when it cannot start a sequence. */
function utf8SequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0; // continuation byte, overlong lead (C0, C1) or beyond U+10FFFF (F5–FF)
}

/** The allowed range of the second byte after a lead byte (RFC 3629 §4): rules out overlongs and surrogates. */
function secondByteInRange(lead: number, second: number): boolean {
  if (lead === 0xe0) return second >= 0xa0 && second <= 0xbf;
  if (lead === 0xed) return second >= 0x80 && second <= 0x9f;
  if (lead === 0xf0) return second >= 0x90 && second <= 0xbf;
  if (lead === 0xf4) return second >= 0x80 && second <= 0x8f;
  return second >= 0x80 && second <= 0xbf;
}

/**
 * One segment (between slashes) in canonical form, or why it cannot be. In `refuse` mode any
 * non-canonical spelling is a refusal; in `normalise` mode it is rewritten.
 */
export function canonicaliseSegment(segment: string, policy: NonCanonicalPolicy): string | PathRefusal {
  const refuse = policy === 'refuse';
  let out = '';
  const length = segment.length;
  for (let index = 0; index < length; index++) {
    const code = segment.charCodeAt(index);
    if (code >= 128) return PATH_REFUSALS.character;
    switch (CLASS[code]) {
      case PLAIN:
        out += segment[index];
        continue;
      case MUST_ENCODE:
        if (refuse) return PATH_REFUSALS.mustEncode;
        out += percentEncoded(code);
        continue;
      case BACKSLASH:
        return PATH_REFUSALS.backslash;
      case HASH:
        return PATH_REFUSALS.hash;
      case SEMICOLON:
        return PATH_REFUSALS.semicolon;
      case PERCENT:
        break;
      default: // SLASH cannot occur inside a segment; FORBIDDEN
        return PATH_REFUSALS.character;
    }
    const byte = percentByteAt(segment, index);
    if (byte < 0) return PATH_REFUSALS.invalidPercent;
    if (byte === 0x2f || byte === 0x5c) return PATH_REFUSALS.encodedSeparator;
    if (byte < 0x20 || byte === 0x7f) return PATH_REFUSALS.encodedControl;
    if (refuse && (isLowerHex(segment.charCodeAt(index + 1)) || isLowerHex(segment.charCodeAt(index + 2))) && !(byte < 128 && UNRESERVED[byte])) {
      return PATH_REFUSALS.lowercaseHex;
    }
    if (byte < 128) {
      if (UNRESERVED[byte]) {
        if (refuse) return byte === 0x2e ? PATH_REFUSALS.encodedDot : PATH_REFUSALS.encodedUnreserved;
        out += String.fromCharCode(byte);
      } else out += percentEncoded(byte);
      index += 2;
      continue;
    }
    // A multi-byte UTF-8 sequence: every byte percent-encoded, the whole sequence valid.
    const sequenceLength = utf8SequenceLength(byte);
    if (sequenceLength === 0) return PATH_REFUSALS.invalidUtf8;
    out += percentEncoded(byte);
    for (let position = 1; position < sequenceLength; position++) {
      const at = index + 3 * position;
      if (segment.charCodeAt(at) !== 37 /* % */) return PATH_REFUSALS.invalidUtf8;
      const next = percentByteAt(segment, at);
      if (next < 0) return PATH_REFUSALS.invalidPercent;
      if (refuse && (isLowerHex(segment.charCodeAt(at + 1)) || isLowerHex(segment.charCodeAt(at + 2)))) return PATH_REFUSALS.lowercaseHex;
      const valid = position === 1 ? secondByteInRange(byte, next) : next >= 0x80 && next <= 0xbf;
      if (!valid) return PATH_REFUSALS.invalidUtf8;
      out += percentEncoded(next);
    }
    index += 3 * sequenceLength - 1;
  }
  return out;
}

/** The byte of the percent-encoding at `index` (which holds "%"), or -1 when it is malformed. */
function percentByteAt(text: string, index: number): number {
  const high = hexValue(text.charCodeAt(index + 1));
  const low = hexValue(text.charCodeAt(index + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function canonicalisePathSlow(path: string, policy: NonCanonicalPolicy): string | PathRefusal {
  const refuse = policy === 'refuse';
  const segments = path.slice(1).split('/');
  const kept: string[] = [];
  for (const raw of segments) {
    const segment = canonicaliseSegment(raw, policy);
    if (typeof segment !== 'string') return segment;
    if (segment === '') {
      if (refuse) return PATH_REFUSALS.emptySegment;
      continue;
    }
    if (segment === '.' || segment === '..') {
      if (refuse) return PATH_REFUSALS.dotSegment;
      if (segment === '..') {
        if (kept.length === 0) return PATH_REFUSALS.aboveRoot;
        kept.pop();
      }
      continue;
    }
    kept.push(segment);
  }
  return `/${kept.join('/')}`;
}

/**
 * The canonical form of a path (without query), or why it is refused. `path` must start
 * with "/" (the sanity check has made sure of that).
 */
export function canonicalisePath(path: string, policy: NonCanonicalPolicy): string | PathRefusal {
  return isCanonicalFast(path) ? path : canonicalisePathSlow(path, policy);
}

/**
 * The canonical request target: canonical path plus the query as sent. A target already
 * canonical is returned as the same string (the common case allocates nothing).
 */
export function canonicaliseTarget(target: string, policy: NonCanonicalPolicy): string | PathRefusal {
  const queryStart = target.indexOf('?');
  if (queryStart === -1) return canonicalisePath(target, policy);
  if (target.indexOf('#', queryStart) !== -1) return PATH_REFUSALS.hash;
  const path = target.slice(0, queryStart);
  const canonical = canonicalisePath(path, policy);
  if (typeof canonical !== 'string') return canonical;
  return canonical === path ? target : canonical + target.slice(queryStart);
}

/** Length of the path part of a canonical target (up to "?"). */
export function pathLengthOf(target: string): number {
  const queryStart = target.indexOf('?');
  return queryStart === -1 ? target.length : queryStart;
}
