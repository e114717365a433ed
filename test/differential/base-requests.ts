/**
 * The requests every variant starts from: a well-formed call of one operation of api.yaml,
 * with a key in one of the two spellings the gateway documents (`X-API-Key: <key>` or
 * `Authorization: Bearer <key>`). Most of the time the key holds the operation's scopes, so
 * that the gateway lets the plain request through and a variant's difference is what decides.
 */
import fc from 'fast-check';
import { holdsScopes, loadContract } from './contract.ts';
import { KEY_NAMES, KEY_SCOPES, type KeyName, type RequestVariant } from './request-variant.ts';

export const CONTRACT = loadContract();

export type OperationId = 'createItem' | 'purgeItems' | 'exportItems' | 'getItem' | 'touchItem' | 'deleteItem' | 'getMe' | 'getUser';

/** One JSON member as written: the key, and the value's exact JSON text. */
export type BodyMember = [string, string];

export interface BaseChoice {
  operation: OperationId;
  /** A key that holds the operation's scopes (else any key), picked by keyIndex. */
  holder: boolean;
  keyIndex: number;
  bearer: boolean;
  id: string;
  user: string;
  withQuery: boolean;
  name: string;
  quantity: number;
  serial: string | null;
}

const OPERATION_IDS: OperationId[] = ['createItem', 'purgeItems', 'exportItems', 'getItem', 'touchItem', 'deleteItem', 'getMe', 'getUser'];

/** A boolean that is true `trueWeight` times in `trueWeight + 1`, shrinking towards true. */
export function mostlyTrue(trueWeight: number): fc.Arbitrary<boolean> {
  return fc.oneof({ weight: trueWeight, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
}

/** One of `values`, with weights (the first shrinks best). */
export function weighted<T>(entries: ReadonlyArray<readonly [T, number]>): fc.Arbitrary<T> {
  return fc.oneof(...entries.map(([value, weight]) => ({ weight, arbitrary: fc.constant(value) })));
}

/** Base requests; `weights` favours the operations where a variant class can make a difference (every operation keeps weight 1 at least). */
export function baseArbitrary(weights: Partial<Record<OperationId, number>> = {}): fc.Arbitrary<BaseChoice> {
  return fc.record({
    operation: weighted(OPERATION_IDS.map((id) => [id, weights[id] ?? 1] as const)),
    holder: mostlyTrue(4),
    keyIndex: fc.nat({ max: KEY_NAMES.length - 1 }),
    bearer: fc.boolean(),
    id: fc.constantFrom('7', 'abc', 'item-1'),
    user: fc.constantFrom('alice', 'bob'),
    withQuery: fc.boolean(),
    name: fc.constantFrom('widget', 'gear', 'a'),
    quantity: fc.integer({ min: 1, max: 100 }),
    serial: fc.option(fc.constantFrom('0', '42', '10000000000000000000'), { nil: null }),
  });
}

/** The key a base request carries. */
export function keyFor(choice: BaseChoice): KeyName {
  const required = CONTRACT.byId.get(choice.operation)?.scopes ?? [];
  const holders = KEY_NAMES.filter((name) => holdsScopes(KEY_SCOPES[name], required));
  const pool = choice.holder ? holders : KEY_NAMES;
  return pool[choice.keyIndex % pool.length] as KeyName;
}

/** The createItem body of a base request, member by member. */
export function bodyMembers(choice: BaseChoice): BodyMember[] {
  const members: BodyMember[] = [['name', JSON.stringify(choice.name)], ['quantity', String(choice.quantity)]];
  if (choice.serial !== null) members.push(['serial', choice.serial]);
  return members;
}

/** JSON text of members written as given (so duplicate keys and exact number spellings survive). */
export function bodyText(members: readonly BodyMember[]): string {
  return `{${members.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

/** The plain request of a base choice; `members` replaces the createItem body. */
export function buildBase(choice: BaseChoice, members: readonly BodyMember[] = bodyMembers(choice)): RequestVariant {
  const operation = CONTRACT.byId.get(choice.operation);
  if (operation === undefined) throw new Error(`api.yaml has no operation ${choice.operation}`);
  let target = operation.template.replace('{id}', choice.id).replace('{name}', choice.user);
  if (choice.withQuery && choice.operation === 'getItem') target += '?fields=name';
  if (choice.withQuery && choice.operation === 'exportItems') target += '?format=csv';
  const key = keyFor(choice);
  const headers: Array<[string, string]> = [choice.bearer ? ['Authorization', `Bearer {key:${key}}`] : ['X-API-Key', `{key:${key}}`]];
  let body: string | null = null;
  if (choice.operation === 'createItem') {
    headers.push(['X-Tenant', 'acme'], ['Content-Type', 'application/json']);
    body = bodyText(members);
  }
  return { method: operation.method, target, headers, body };
}

/** The name of the header carrying the base request's key, in lower case. */
export function keyHeaderOf(choice: BaseChoice): 'authorization' | 'x-api-key' {
  return choice.bearer ? 'authorization' : 'x-api-key';
}
