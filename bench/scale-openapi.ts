/**
 * The OpenAPI descriptions of `npm run bench:scale`: the same shape at any size, so a gateway
 * with 10 operations and one with 10,000 differ only in how many there are. Pure (tested in
 * scale-openapi.test.ts).
 *
 * Operations come in pairs, one path each: `GET /resources<i>/{id}` (a path parameter and two
 * query parameters, one a shared enum) and `PUT` of the same path (a closed JSON body that
 * references shared components). With an odd count the last path has its `GET` only.
 */

const ADDRESS_COMPONENTS = 100;

function getOperation(index: number): object {
  return {
    operationId: `getResource${index}`,
    parameters: [
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 + index } },
      { name: 'state', in: 'query', schema: { $ref: '#/components/schemas/State' } },
    ],
    responses: { 200: { description: 'ok' } },
  };
}

function putOperation(index: number): object {
  const body = {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', maxLength: 50 + (index % 50) },
      state: { $ref: '#/components/schemas/State' },
      address: { $ref: `#/components/schemas/Address${index % ADDRESS_COMPONENTS}` },
    },
  };
  return { operationId: `putResource${index}`, requestBody: { required: true, content: { 'application/json': { schema: body } } }, responses: { 200: { description: 'ok' } } };
}

/** An OpenAPI 3.1 description with exactly `operations` operations. */
export function scaleDescription(operations: number): object {
  if (!Number.isInteger(operations) || operations < 1) throw new RangeError(`operations must be a whole number >= 1, not ${operations}`);
  const paths: Record<string, object> = {};
  for (let index = 0; index < Math.ceil(operations / 2); index++) {
    const withPut = 2 * index + 1 < operations;
    paths[`/resources${index}/{id}`] = {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      get: getOperation(index),
      ...(withPut ? { put: putOperation(index) } : {}),
    };
  }
  const schemas: Record<string, object> = { State: { type: 'string', enum: ['active', 'paused', 'closed'] } };
  for (let index = 0; index < Math.min(ADDRESS_COMPONENTS, Math.ceil(operations / 2)); index++) {
    schemas[`Address${index}`] = {
      type: 'object',
      required: ['street', 'country'],
      properties: { street: { type: 'string', maxLength: 200 }, country: { type: 'string', pattern: '^[A-Z]{2}$' } },
    };
  }
  return { openapi: '3.1.0', info: { title: `bench:scale, ${operations} operations`, version: '1' }, components: { schemas }, paths };
}

/**
 * Request targets for `distinct` of the description's `GET` operations, spread evenly over it
 * (first, last and between), each valid: an id ≥ 1 and both query parameters in range.
 */
export function scaleRequestTargets(operations: number, distinct: number): string[] {
  const getCount = Math.ceil(operations / 2);
  const count = Math.min(distinct, getCount);
  const targets: string[] = [];
  for (let position = 0; position < count; position++) {
    const index = count === 1 ? 0 : Math.round((position * (getCount - 1)) / (count - 1));
    targets.push(`/resources${index}/${index + 1}?limit=${1 + (index % 100)}&state=active`);
  }
  return targets;
}
