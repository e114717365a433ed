/**
 * Variants of createItem's JSON body: media-type parameters (a repeated `charset`), keys that
 * differ only in case or repeat, and numbers beyond what a double holds exactly. A parser that
 * decodes, binds or rounds differently from the gateway acts on a body the gateway never
 * validated.
 */
import fc from 'fast-check';
import { baseArbitrary, bodyMembers, buildBase, weighted, type BodyMember } from '../base-requests.ts';
import { replaceHeaderValue } from '../request-variant.ts';
import type { VariantClass } from './variant-class.ts';

/** Only createItem has a body. */
const CREATE_ONLY = { createItem: 1, purgeItems: 0, exportItems: 0, getItem: 0, touchItem: 0, deleteItem: 0, getMe: 0, getUser: 0 };

/**
 * `text` as UTF-7 (RFC 2152) would carry it in a base64 run: `+<base64 of UTF-16BE>-`. Read
 * as UTF-8 it is an opaque string of letters; read as UTF-7 it is `text`.
 */
function utf7Run(text: string): string {
  return `+${Buffer.from(text, 'utf16le').swap16().toString('base64').replace(/=+$/, '')}-`;
}

type BodyTrick = 'plain' | 'utf7' | 'latin1';

/** Content types, with the body that shows the difference when an upstream reads a charset other than the gateway's. */
const CONTENT_TYPES: ReadonlyArray<readonly [readonly [string, BodyTrick], number]> = [
  [['application/json', 'plain'], 1],
  [['application/json; charset=utf-8', 'plain'], 1],
  [['application/json;charset=UTF-8', 'plain'], 1],
  [['application/json; charset="utf-8"', 'plain'], 1],
  [['Application/JSON; Charset=utf-8', 'plain'], 1],
  [['application/json; charset=utf-8; charset=utf-8', 'plain'], 1],
  [['application/json; charset=utf-7; charset=utf-8', 'utf7'], 3],
  [['application/json; charset=UTF-7; charset="utf-8"', 'utf7'], 3],
  [['application/json; charset=utf-8; charset=utf-7', 'utf7'], 1],
  [['application/json; charset=iso-8859-1; charset=utf-8', 'latin1'], 2],
  [['application/json; charset=windows-1252;charset=utf-8', 'latin1'], 2],
  [['application/json; charset=utf-16; charset=utf-8', 'plain'], 1],
  [['application/json; foo=bar; charset=utf-8', 'plain'], 1],
];

/**
 * Media-type parameters, the charset repeated. With a UTF-7 charset the body carries a UTF-7
 * run that, decoded, closes a string and adds a member out of the schema; with a Latin-1 one,
 * the name is accented (each letter two bytes in UTF-8, so twice as many characters in Latin-1).
 */
const mediaType: VariantClass = {
  name: 'media-type',
  probes: 'Content-Type parameters: a repeated charset, quoting, case',
  arbitrary: fc
    .record({
      base: baseArbitrary(CREATE_ONLY),
      contentType: weighted(CONTENT_TYPES),
      smuggled: fc.constantFrom<BodyMember>(['quantity', '500'], ['quantity', '0'], ['name', '"far-too-long-a-name"']),
      accents: fc.integer({ min: 5, max: 8 }),
    })
    .map(({ base, contentType: [contentType, trick], smuggled, accents }) => {
      let members = bodyMembers(base);
      if (trick === 'utf7') members = [...members, ['note', JSON.stringify(utf7Run(`","${smuggled[0]}":${smuggled[1]},"pad":"`))]];
      if (trick === 'latin1') members = members.map(([key, value]): BodyMember => (key === 'name' ? [key, JSON.stringify('é'.repeat(accents))] : [key, value]));
      return replaceHeaderValue(buildBase(base, members), 'content-type', contentType);
    }),
};

/**
 * Members whose keys collide with a declared field's, in case or exactly, with values outside
 * the schema (or inside it). A collision with `serial`, which is optional, counts even when
 * `serial` itself is absent: a case-insensitive binder then takes the other spelling's value.
 */
const KEY_VARIANTS: ReadonlyArray<readonly [BodyMember, number]> = [
  [['Quantity', '1000'], 2],
  [['QUANTITY', '0'], 1],
  [['quantitY', '-5'], 1],
  [['Name', '"this-name-is-too-long"'], 1],
  [['NAME', '42'], 1],
  [['Serial', '-1'], 2],
  [['SERIAL', '10000000000000000001'], 2],
  [['sErial', '"text"'], 1],
  [['quantity', '1000'], 1],
  [['name', '"x"'], 1],
  [['quantity ', '1000'], 1],
  [['Quantity', '5'], 1],
];

/** One or two extra members, after the declared ones or before them; `serial` absent half the time. */
const jsonKeys: VariantClass = {
  name: 'json-keys',
  probes: 'JSON keys colliding in case, duplicate keys',
  arbitrary: fc
    .record({ base: baseArbitrary(CREATE_ONLY), withSerial: fc.boolean(), extras: fc.array(weighted(KEY_VARIANTS), { minLength: 1, maxLength: 2 }), before: fc.boolean() })
    .map(({ base, withSerial, extras, before }) => {
      const members = bodyMembers(withSerial ? base : { ...base, serial: null });
      return buildBase(base, before ? [...extras, ...members] : [...members, ...extras]);
    }),
};

/** `serial` (maximum 10^19) and `quantity` (integer, 1–100) spelled as numbers a double rounds: integers just above 10^19, long fractions, exponents. */
const SERIALS: ReadonlyArray<readonly [string, number]> = [
  ['10000000000000000001', 2],
  ['10000000000000000512', 2],
  ['10000000000000001000', 2],
  ['10000000000000000000', 1],
  ['1e19', 1],
  ['1E19', 1],
  ['10000000000000000000.0', 1],
  ['10000000000000000000.4', 1],
  ['1.0000000000000000001e19', 1],
  ['9999999999999999999', 1],
  ['18446744073709551616', 1],
  ['-0', 1],
];
const QUANTITIES = ['1', '100', '100.0', '1e2', '1E+2', '100.0000000000000001', '99.99999999999999999', '0.99999999999999999', '1.0000000000000001', '100.00000000000001', '-0', '1e-400'];

const jsonNumbers: VariantClass = {
  name: 'json-numbers',
  probes: 'numbers beyond double precision against minimum and maximum',
  arbitrary: fc
    .record({ base: baseArbitrary(CREATE_ONLY), serial: weighted(SERIALS), quantity: fc.constantFrom(...QUANTITIES) })
    .map(({ base, serial, quantity }) =>
      buildBase(base, bodyMembers({ ...base, serial: null }).map(([key, value]): BodyMember => (key === 'quantity' ? [key, quantity] : [key, value])).concat([['serial', serial]])),
    ),
};

export const BODY_VARIANTS: readonly VariantClass[] = [mediaType, jsonKeys, jsonNumbers];
