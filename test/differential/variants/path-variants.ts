/**
 * Variants of the request target: letter case, percent-encoding, dot segments and `;` in the
 * path and the query. A router that folds case differently, decodes differently, resolves dots
 * or splits the query on `;` reaches another operation, or parameters the gateway never saw.
 */
import fc from 'fast-check';
import { baseArbitrary, buildBase, weighted } from '../base-requests.ts';
import { splitTarget, type RequestVariant } from '../request-variant.ts';
import type { VariantClass } from './variant-class.ts';

function withPath(variant: RequestVariant, path: string, query: string | null): RequestVariant {
  return { ...variant, target: query === null ? path : `${path}?${query}` };
}

type CaseMode = 'same' | 'upper' | 'title' | 'last-upper';

function recase(segment: string, mode: CaseMode): string {
  if (mode === 'upper') return segment.toUpperCase();
  if (mode === 'title') return segment.charAt(0).toUpperCase() + segment.slice(1);
  if (mode === 'last-upper') return segment.slice(0, -1) + segment.slice(-1).toUpperCase();
  return segment;
}

/**
 * Letter case of the path segments: the first kept more often than the others, so that the
 * request still reaches an upstream route (`/users/ME`, `/items/Export`). The operations with
 * a literal segment beside a parameter (`/users/me`, `/items/export`) are favoured.
 */
const pathCase: VariantClass = {
  name: 'path-case',
  probes: 'letter case of path segments (case-sensitive and case-insensitive routers)',
  arbitrary: fc
    .record({
      base: baseArbitrary({ getMe: 4, exportItems: 4 }),
      first: weighted<CaseMode>([['same', 4], ['upper', 1], ['title', 1]]),
      rest: weighted<CaseMode>([['upper', 1], ['same', 1], ['title', 1], ['last-upper', 1]]),
    })
    .map(({ base, first, rest }) => {
      const variant = buildBase(base);
      const [path, query] = splitTarget(variant.target);
      const segments = path.split('/').map((segment, index) => (index === 0 ? segment : recase(segment, index === 1 ? first : rest)));
      return withPath(variant, segments.join('/'), query);
    }),
};

/** Parameter values whose encoding is needed (canonical), but that a router decoding twice, or `+` as space, reads otherwise. */
const ENCODED_VALUES = ['a%20b', 'a+b', 'a%2Bb', '%C3%A9t%C3%A9', '%E2%82%AC', '%2541', '%252e%252e', '%25', 'me%3F', '%3Bx'];

/**
 * Percent-encoding of one or two characters of the path (letters, digits, `-`, `/`), in upper-
 * or lower-case hex; or a parameter value that needs its encoding.
 */
const pathEncoding: VariantClass = {
  name: 'path-encoding',
  probes: 'percent-encoded path characters, encoded slashes, encoded parameter values',
  arbitrary: fc
    .record({
      base: baseArbitrary({ getItem: 2, getUser: 2, touchItem: 2, deleteItem: 2 }),
      positions: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 2 }),
      lowerHex: fc.boolean(),
      value: fc.option(fc.constantFrom(...ENCODED_VALUES), { nil: null, freq: 2 }),
    })
    .map(({ base, positions, lowerHex, value }) => {
      const variant = buildBase(value === null ? base : { ...base, id: value, user: value });
      if (value !== null) return variant;
      const [path, query] = splitTarget(variant.target);
      const characters = [...path];
      for (const position of positions) {
        const index = 1 + (position % (characters.length - 1));
        const character = characters[index] as string;
        if (character.startsWith('%')) continue;
        const hex = character.charCodeAt(0).toString(16).padStart(2, '0');
        characters[index] = `%${lowerHex ? hex : hex.toUpperCase()}`;
      }
      return withPath(variant, characters.join(''), query);
    }),
};

const DOT_SEGMENTS = ['.', '..', '%2e', '%2E', '%2e%2e', '%2E%2E', '.%2e', '%2e.', 'x/..', 'X/..', 'items/..', 'users/..', '..;', '.;', '...', '.%00', ''];

/** A dot segment (plain, encoded, with `;`) or an empty segment inserted into the path, and trailing `/`, `/.` or `/..`. */
const dotSegments: VariantClass = {
  name: 'dot-segments',
  probes: 'dot segments, encoded dots, empty segments, trailing slashes',
  arbitrary: fc
    .record({ base: baseArbitrary(), at: fc.nat({ max: 3 }), dots: fc.constantFrom(...DOT_SEGMENTS), trailing: fc.constantFrom('', '', '/', '/.', '/..') })
    .map(({ base, at, dots, trailing }) => {
      const variant = buildBase(base);
      const [path, query] = splitTarget(variant.target);
      const segments = path.split('/');
      segments.splice(1 + (at % segments.length), 0, dots);
      return withPath(variant, segments.join('/') + trailing, query);
    }),
};

type SemicolonForm = 'path-parameter' | 'path-end' | 'query-after' | 'query-repeat' | 'query-lead' | 'query-encoded';

/**
 * `;` in the path (Tomcat's and Jetty's path parameters) or in the query, where some parsers
 * split parameters on it as on `&`. getItem, whose `fields` takes free text, is favoured: it is
 * where a `;` can hide a second parameter inside an accepted value.
 */
const semicolons: VariantClass = {
  name: 'semicolons',
  probes: '";" in the path and as a query separator',
  arbitrary: fc
    .record({
      base: baseArbitrary({ getItem: 8, exportItems: 2 }),
      form: weighted<SemicolonForm>([['query-after', 3], ['query-repeat', 2], ['query-lead', 1], ['query-encoded', 1], ['path-parameter', 1], ['path-end', 1]]),
      segment: fc.nat({ max: 3 }),
      name: fc.constantFrom('admin', 'debug', 'format', 'fields', 'id'),
      value: fc.constantFrom('1', 'true', 'x'),
    })
    .map(({ base, form, segment, name, value }) => {
      const variant = buildBase(base);
      const [path] = splitTarget(variant.target);
      const [parameter, plain] = base.operation === 'exportItems' ? ['format', 'csv'] : ['fields', 'name'];
      if (form === 'path-parameter' || form === 'path-end') {
        const segments = path.split('/');
        const index = 1 + (segment % (segments.length - 1));
        segments[index] += form === 'path-end' ? ';' : `;${name}=${value}`;
        return withPath(variant, segments.join('/'), null);
      }
      const query = {
        'query-after': `${parameter}=${plain};${name}=${value}`,
        'query-repeat': `${parameter}=${plain};${parameter}=${value}`,
        'query-lead': `${name}=${value};${parameter}=${plain}`,
        'query-encoded': `${parameter}=${plain}%3B${name}%3D${value}`,
      }[form];
      return withPath(variant, path, query);
    }),
};

export const PATH_VARIANTS: readonly VariantClass[] = [pathCase, pathEncoding, dotSegments, semicolons];
