/**
 * Variants of the header section: spellings of header names (case, `_` for `-`), repeated
 * lines, headers named in `Connection`, spellings of a credential in `Authorization`, and
 * method-override headers. A framework that reads one header where the gateway read another
 * (or none) sees a key, an identity, a parameter or a method the gateway never checked.
 */
import fc from 'fast-check';
import { baseArbitrary, buildBase, keyHeaderOf, mostlyTrue, weighted } from '../base-requests.ts';
import { KEY_NAMES, renameHeader, withHeaders, type RequestVariant } from '../request-variant.ts';
import type { VariantClass } from './variant-class.ts';

const KEY_HEADER_SPELLINGS = ['X-API-Key', 'x-api-key', 'X-Api-Key', 'X-API-KEY', 'X_API_KEY', 'x_api_key', 'X-Api_Key', 'X_Api-Key'];
const MAIN_SPELLINGS = { 'x-api-key': ['X-API-Key', 'x-api-key', 'X-Api-Key', 'X-API-KEY'], authorization: ['Authorization', 'authorization', 'AUTHORIZATION', 'AuThOrIzAtIoN'] };

/** Headers only the gateway may set (identity, forwarding) and the API's header parameter, in several spellings; `NAME` is a key's name. */
const CLAIMED_HEADERS: ReadonlyArray<[string, string]> = [
  ['X-Portcullis-Key-Id', '{id:NAME}'],
  ['X_PORTCULLIS_KEY_ID', '{id:NAME}'],
  ['x_portcullis_key_id', '{id:NAME}'],
  ['X-Portcullis_Key-Id', '{id:NAME}'],
  ['X-Portcullis-Key-Name', 'spoofed'],
  ['X_Portcullis_Key_Name', 'spoofed'],
  ['X_Portcullis_Scopes', 'admin'],
  ['X-Forwarded-For', '203.0.113.7'],
  ['X_FORWARDED_FOR', '203.0.113.7'],
  ['x_forwarded_for', '203.0.113.7'],
  ['X-Forwarded_For', '203.0.113.7'],
  ['X_Forwarded_Host', 'evil.example'],
  ['X_Forwarded_Proto', 'https'],
  ['Forwarded', 'for=203.0.113.7'],
  ['X_Tenant', 'evil'],
];

const extraHeader = fc.oneof(
  fc.record({ spelling: fc.constantFrom(...KEY_HEADER_SPELLINGS), key: fc.constantFrom(...KEY_NAMES) }).map(({ spelling, key }): [string, string] => [spelling, `{key:${key}}`]),
  fc.record({ claimed: fc.constantFrom(...CLAIMED_HEADERS), key: fc.constantFrom(...KEY_NAMES) }).map(({ claimed, key }): [string, string] => [claimed[0], claimed[1].replace('NAME', key)]),
);

/** The base request's key header in another case, plus one to three headers: key headers and claimed headers in many spellings. */
const headerSpelling: VariantClass = {
  name: 'header-spelling',
  probes: 'header-name spellings (case, "_" for "-") of key, identity, forwarding and parameter headers',
  arbitrary: fc
    .record({ base: baseArbitrary({ createItem: 2 }), mainSpelling: fc.nat({ max: 3 }), extras: fc.array(extraHeader, { minLength: 1, maxLength: 3 }) })
    .map(({ base, mainSpelling, extras }) => {
      const header = keyHeaderOf(base);
      const variant = renameHeader(buildBase(base), header, MAIN_SPELLINGS[header][mainSpelling] as string);
      return withHeaders(variant, extras);
    }),
};

type Duplicate = 'key-same' | 'key-other' | 'tenant-same' | 'tenant-other' | 'content-type-same' | 'content-type-other' | 'identity' | 'forwarded-for' | 'override' | 'accept';

function duplicateLines(variant: RequestVariant, duplicate: Duplicate, keyHeader: 'authorization' | 'x-api-key', other: string): Array<[string, string]> {
  const original = (name: string) => variant.headers.find(([line]) => line.toLowerCase() === name);
  switch (duplicate) {
    case 'key-same':
      return [original(keyHeader) as [string, string]];
    case 'key-other':
      return [keyHeader === 'authorization' ? ['Authorization', `Bearer {key:${other}}`] : ['X-API-Key', `{key:${other}}`]];
    case 'tenant-same':
      return [['X-Tenant', 'acme']];
    case 'tenant-other':
      return [['X-Tenant', 'evil']];
    case 'content-type-same':
      return [['Content-Type', 'application/json']];
    case 'content-type-other':
      return [['Content-Type', 'text/plain']];
    case 'identity':
      return [['X-Portcullis-Key-Id', `{id:${other}}`], ['X-Portcullis-Key-Id', `{id:${other}}`]];
    case 'forwarded-for':
      return [['X-Forwarded-For', '203.0.113.7'], ['X-Forwarded-For', '198.51.100.9']];
    case 'override':
      return [['X-HTTP-Method-Override', 'DELETE'], ['X-HTTP-Method-Override', 'DELETE']];
    case 'accept':
      return [['Accept', 'application/json'], ['Accept', 'text/plain']];
  }
}

const DUPLICATES: Duplicate[] = ['key-same', 'key-other', 'tenant-same', 'tenant-other', 'content-type-same', 'content-type-other', 'identity', 'forwarded-for', 'override', 'accept'];

/** One or two headers repeated, with the same or another value. */
const duplicateHeaders: VariantClass = {
  name: 'duplicate-headers',
  probes: 'repeated header lines (first-wins, last-wins and joined readings)',
  arbitrary: fc
    .record({ base: baseArbitrary({ createItem: 3, touchItem: 2 }), which: fc.uniqueArray(fc.constantFrom(...DUPLICATES), { minLength: 1, maxLength: 2 }), other: fc.constantFrom(...KEY_NAMES) })
    .map(({ base, which, other }) => {
      const variant = buildBase(base);
      return withHeaders(variant, which.flatMap((duplicate) => duplicateLines(variant, duplicate, keyHeaderOf(base), other)));
    }),
};

const NAMEABLE: ReadonlyArray<readonly [string, number]> = [
  ['X-Tenant', 3],
  ['Content-Type', 3],
  ['X-API-Key', 1],
  ['Authorization', 1],
  ['Content-Length', 1],
  ['X-Request-Id', 1],
  ['X-Portcullis-Key-Id', 1],
  ['X-Forwarded-For', 1],
  ['Accept', 1],
];

/** `Connection` naming one or two of the request's headers (RFC 9110 §7.6.1: a proxy removes them), in the close line or a line of its own. */
const connectionNamed: VariantClass = {
  name: 'connection-named',
  probes: 'headers named in Connection (removed by the proxy after it read them?)',
  arbitrary: fc
    .record({ base: baseArbitrary({ createItem: 10 }), named: fc.uniqueArray(weighted(NAMEABLE), { minLength: 1, maxLength: 2 }), separateLine: fc.boolean(), lowerCase: fc.boolean() })
    .map(({ base, named, separateLine, lowerCase }) => {
      let variant = buildBase(base);
      if (named.includes('X-Request-Id')) variant = withHeaders(variant, [['X-Request-Id', 'req-differential-1']]);
      if (named.includes('Accept')) variant = withHeaders(variant, [['Accept', 'application/json']]);
      const tokens = named.map((name) => (lowerCase ? name.toLowerCase() : name)).join(', ');
      return withHeaders(variant, separateLine ? [['Connection', 'close'], ['Connection', tokens]] : [['Connection', `close, ${tokens}`]]);
    }),
};

/** `K` stands for a key placeholder's name. */
const AUTHORIZATION_SPELLINGS = [
  'Bearer\t{key:K}',
  'Bearer  {key:K}',
  'Bearer:{key:K}',
  'Bearer: {key:K}',
  'bearer {key:K}',
  'BEARER {key:K}',
  'Bearer{key:K}',
  'Bearer \t{key:K}',
  'Bearer\t\t{key:K}',
  'Basic {basic:K}',
  'Basic {b64:K}',
  'Token {key:K}',
  '{key:K}',
];

/**
 * A credential in `Authorization` spelled as lenient parsers accept it (tabs, several spaces,
 * `Bearer:`, other case, no separator, Basic with the key as user name), mostly beside a key
 * the gateway does recognise in X-API-Key.
 */
const authorizationSpelling: VariantClass = {
  name: 'authorization-spelling',
  probes: 'credential spellings in Authorization (tabs, spaces, "Bearer:", case, Basic)',
  arbitrary: fc
    .record({ base: baseArbitrary(), alongsideApiKey: mostlyTrue(3), spelling: fc.constantFrom(...AUTHORIZATION_SPELLINGS), key: fc.constantFrom(...KEY_NAMES) })
    .map(({ base, alongsideApiKey, spelling, key }) => {
      const variant = buildBase({ ...base, bearer: false });
      const headers = alongsideApiKey ? variant.headers : variant.headers.filter(([name]) => name !== 'X-API-Key');
      return { ...variant, headers: [...headers, ['Authorization', spelling.replace(':K}', `:${key}}`)]] };
    }),
};

const OVERRIDE_HEADERS: ReadonlyArray<readonly [string, number]> = [
  ['X-HTTP-Method-Override', 3],
  ['x-http-method-override', 1],
  ['X-HTTP-METHOD-OVERRIDE', 1],
  ['X_HTTP_Method_Override', 2],
  ['X-HTTP-Method', 1],
  ['X-Method-Override', 1],
];

/** A method-override header on a POST (favoured) or another method, naming another method of the same path. */
const methodOverride: VariantClass = {
  name: 'method-override',
  probes: 'X-HTTP-Method-Override and its spellings',
  arbitrary: fc
    .record({
      base: baseArbitrary({ touchItem: 8, createItem: 3 }),
      header: weighted(OVERRIDE_HEADERS),
      method: fc.constantFrom('DELETE', 'delete', 'PUT', 'GET', 'PATCH', 'DELETE, GET'),
    })
    .map(({ base, header, method }) => withHeaders(buildBase(base), [[header, method]])),
};

export const HEADER_VARIANTS: readonly VariantClass[] = [headerSpelling, duplicateHeaders, connectionNamed, authorizationSpelling, methodOverride];

