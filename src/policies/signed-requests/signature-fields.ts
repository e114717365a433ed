import { isInnerList, parseDictionary, serializeInnerList, type BareItem, type Parameters } from 'structured-headers';

/**
 * The `Signature-Input` and `Signature` fields of RFC 9421 §4, read with a structured-field
 * parser (`structured-headers`, RFC 8941/9651): both are Dictionaries keyed by a label, the
 * first's members Inner Lists of component identifiers with the signature's parameters, the
 * second's Byte Sequences. A hand-rolled parser here is the attack surface §7.5.7 warns of.
 */

/** One labelled signature as the client sent it, before anything is verified. */
export interface PresentedSignature {
  label: string;
  /** Component identifiers in order, each as its name (`@method`, `content-digest`). */
  components: string[];
  /** The `@signature-params` value: the Inner List serialised (RFC 8941 §4.1.1.1). */
  signatureParams: string;
  created: number | null;
  expires: number | null;
  nonce: string | null;
  alg: string | null;
  keyid: string | null;
  signature: Buffer;
}

/** The most labels read from one request: signatures beyond it are refused, not ignored. */
const MAX_SIGNATURES = 8;
/** The most components one signature may cover. */
const MAX_COMPONENTS = 32;

function integerParameter(params: Parameters, name: string): number | null | undefined {
  const value = params.get(name);
  if (value === undefined) return null;
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

function stringParameter(params: Parameters, name: string): string | null | undefined {
  const value = params.get(name);
  if (value === undefined) return null;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The component names of an Inner List, or a problem. Component parameters (`;sf`, `;key`, `;bs`,
 * `;req`, `;tr`, `;name`) are not supported: a signature using one is refused rather than
 * verified over a value the gateway would compute differently.
 */
function componentNames(items: ReadonlyArray<readonly [BareItem, Parameters]>): string[] | string {
  if (items.length > MAX_COMPONENTS) return `covers more than ${MAX_COMPONENTS} components`;
  const names: string[] = [];
  for (const [value, params] of items) {
    if (typeof value !== 'string') return 'names a component with something other than a string';
    if (params.size > 0) return 'uses component parameters, which the gateway does not support';
    // Field names are lower case in the identifier (RFC 9421 §2.1); derived ones start with @.
    if (value !== value.toLowerCase() || value === '') return 'names a component that is not lower case';
    if (names.includes(value)) return 'covers a component twice';
    names.push(value);
  }
  return names;
}

function readOne(label: string, input: unknown, signature: unknown): PresentedSignature | string {
  if (!Array.isArray(input) || !isInnerList(input as never)) return `Signature-Input ${label} is not an inner list of components`;
  const [items, params] = input as [Array<[BareItem, Parameters]>, Parameters];
  const components = componentNames(items);
  if (typeof components === 'string') return `Signature-Input ${label} ${components}`;
  if (!Array.isArray(signature) || !(signature[0] instanceof ArrayBuffer)) return `Signature ${label} is missing or not a byte sequence`;
  const created = integerParameter(params, 'created');
  const expires = integerParameter(params, 'expires');
  const nonce = stringParameter(params, 'nonce');
  const alg = stringParameter(params, 'alg');
  const keyid = stringParameter(params, 'keyid');
  if (created === undefined || expires === undefined) return `Signature-Input ${label}: created and expires must be integers`;
  if (nonce === undefined || alg === undefined || keyid === undefined) return `Signature-Input ${label}: nonce, alg and keyid must be strings`;
  return {
    label, components, signatureParams: serializeInnerList([items, params]), created, expires, nonce, alg, keyid,
    signature: Buffer.from(signature[0] as ArrayBuffer),
  };
}

/**
 * Every signature a request carries, in `Signature-Input` order, or a problem (said to the
 * client: it names a label at most, never echoes a value).
 */
export function readPresentedSignatures(signatureInput: string, signature: string): PresentedSignature[] | string {
  let inputs: ReturnType<typeof parseDictionary>;
  let signatures: ReturnType<typeof parseDictionary>;
  try {
    inputs = parseDictionary(signatureInput);
    signatures = parseDictionary(signature);
  } catch {
    return 'Signature-Input and Signature must be structured-field dictionaries (RFC 9421 §4)';
  }
  if (inputs.size === 0) return 'Signature-Input names no signature';
  if (inputs.size > MAX_SIGNATURES) return `a request may carry at most ${MAX_SIGNATURES} signatures`;
  const presented: PresentedSignature[] = [];
  for (const [label, input] of inputs) {
    const one = readOne(label.length > 32 ? `${label.slice(0, 32)}…` : label, input, signatures.get(label));
    if (typeof one === 'string') return one;
    presented.push({ ...one, label });
  }
  return presented;
}
