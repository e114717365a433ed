import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { Ajv } from 'ajv';
import { fakeContext } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { awaitContinue } from '../../http/expect-continue.ts';
import type { Operation } from '../../routes/operation.ts';
import type { RequestContext } from '../request-context.ts';
import { BufferedBodyBudget } from './buffered-body-budget.ts';
import { createInputValidationCheck } from './input-validation-check.ts';

describe('BufferedBodyBudget', () => {
  it('reserves while the bytes fit, gives back on shrink and release, once', () => {
    const budget = new BufferedBodyBudget(100);
    const steps: Array<[action: string, bytes: number, fits: boolean, heldAfter: number]> = [
      ['reserve', 60, true, 60],
      ['reserve', 41, false, 60],
      ['reserve', 40, true, 100],
      ['reserve', 1, false, 100],
      ['reserve', 0, true, 100],
    ];
    const reservations = [];
    for (const [action, bytes, fits, heldAfter] of steps) {
      const reservation = budget.reserve(bytes);
      assert.equal(reservation !== null, fits, `${action} ${bytes}`);
      if (reservation !== null) reservations.push(reservation);
      assert.equal(budget.held, heldAfter, `${action} ${bytes}`);
    }
    const [first, second] = reservations;
    first?.shrinkTo(10);
    assert.equal(budget.held, 50);
    first?.shrinkTo(30);
    assert.equal(budget.held, 50, 'a share never grows back');
    first?.release();
    first?.release();
    assert.equal(budget.held, 40, 'released once');
    second?.release();
    assert.equal(budget.held, 0);
  });
});

const ajv = new Ajv({ strict: false });

/** POST /items: a validated JSON body, of at most `maxBodySize` bytes when it is not null. */
function itemsOperation(maxBodySize: number | null = null): Operation {
  return {
    method: 'POST', template: '/items', source: 'test', scopes: null, maxBodySize, rate: null,
    validation: {
      path: [], query: [], headers: [], refuseUnknownQuery: true, validateParameters: null,
      body: { required: true, mediaTypes: [{ mediaType: 'application/json', json: true, validate: ajv.compile({ type: 'object' }) }], names: ['application/json'], accepted: 'application/json' },
    },
  };
}

/**
 * A request whose body arrives only when the test says (`send`, `end`): a slow client. The
 * response records `writeContinue` calls and can be closed (`close`).
 */
function slowRequest(framing: ['Content-Length', string] | ['Transfer-Encoding', 'chunked'], options: { expectContinue?: boolean; operation?: Operation } = {}) {
  const headers = ['Content-Type', 'application/json', ...framing];
  const stream = new PassThrough();
  const req = Object.assign(stream, { method: 'POST', url: '/items', rawHeaders: headers, headers: { 'content-type': 'application/json' }, complete: false });
  stream.once('end', () => (req.complete = true));
  const context = fakeContext({ method: 'POST', url: '/items', headers }, { operation: options.operation ?? itemsOperation(), pathParameters: [], req: req as unknown as IncomingMessage });
  const continues: number[] = [];
  Object.assign(context.res, { writeContinue: () => continues.push(1) });
  if (options.expectContinue === true) awaitContinue(context.res);
  return {
    context,
    continues,
    send: (text: string) => stream.write(text),
    end: (text = '') => stream.end(text),
    close: () => context.res.emit('close'),
  };
}

async function outcomeOf(context: RequestContext, pending: unknown): Promise<Denial | null> {
  return (await pending) as Denial | null;
}

describe('input-validation check: the budget of bytes held for validation', () => {
  it('reserves the declared length before reading, refuses what does not fit with 503 validation_busy, and gives it back when the response is over', async () => {
    const check = createInputValidationCheck({ maxBodySize: 1000, maxJsonBodySize: 100, maxJsonDepth: 8, maxBufferedBytes: 150 });
    const first = slowRequest(['Content-Length', '100']);
    const reading = check.run(first.context);
    assert.ok(reading instanceof Promise, 'the first body is being read');
    const second = slowRequest(['Content-Length', '60']);
    const busy = check.run(second.context) as Denial;
    assert.equal(busy.code, 'validation_busy');
    assert.equal(busy.status, 503);
    assert.deepEqual(busy.headers, [['retry-after', '1']]);
    const third = slowRequest(['Content-Length', '50']);
    const fits = check.run(third.context);
    assert.ok(fits instanceof Promise, '100 + 50 fit in 150');
    first.end(`{"a":"${'x'.repeat(92)}"}`);
    assert.equal(await outcomeOf(first.context, reading), null);
    assert.equal((check.run(slowRequest(['Content-Length', '60']).context) as Denial).code, 'validation_busy', 'held until the response is over, not only until read');
    first.close();
    const retried = slowRequest(['Content-Length', '60']);
    assert.ok(check.run(retried.context) instanceof Promise, 'the first request\'s share is back');
    third.close();
    retried.close();
  });

  it('reserves the whole limit for a chunked body, and keeps only what it read', async () => {
    const check = createInputValidationCheck({ maxBodySize: 1000, maxJsonBodySize: 100, maxJsonDepth: 8, maxBufferedBytes: 150 });
    const chunked = slowRequest(['Transfer-Encoding', 'chunked']);
    const reading = check.run(chunked.context);
    assert.equal((check.run(slowRequest(['Content-Length', '51']).context) as Denial).code, 'validation_busy', 'its whole limit (100) is reserved');
    chunked.send('{"a":');
    chunked.end('1}');
    assert.equal(await outcomeOf(chunked.context, reading), null);
    const afterwards = slowRequest(['Content-Length', '100']);
    assert.ok(check.run(afterwards.context) instanceof Promise, 'only its 7 bytes stay reserved');
    chunked.close();
    afterwards.close();
  });

  it('caps each body\'s limit at the budget, so one request can never wait for more than there is', async () => {
    const check = createInputValidationCheck({ maxBodySize: 1000, maxJsonBodySize: 100, maxJsonDepth: 8, maxBufferedBytes: 50 });
    const cases: Array<[framing: ['Content-Length', string], operation: Operation, code: string | null]> = [
      [['Content-Length', '51'], itemsOperation(), 'body_too_large'],
      [['Content-Length', '51'], itemsOperation(500), 'body_too_large'],
      [['Content-Length', '50'], itemsOperation(500), null],
    ];
    for (const [framing, operation, code] of cases) {
      const request = slowRequest(framing, { operation });
      const outcome = check.run(request.context);
      if (code === null) assert.ok(outcome instanceof Promise, framing[1]);
      else assert.equal((outcome as Denial).code, code, framing[1]);
      if (code === 'body_too_large') assert.match((outcome as Denial).detail, /limit of 50 bytes/);
      request.close();
    }
  });
});

describe('input-validation check: Expect: 100-continue', () => {
  const check = createInputValidationCheck({ maxBodySize: 1000, maxJsonBodySize: 100, maxJsonDepth: 8, maxBufferedBytes: 100 });

  it('sends 100 Continue only when the body is about to be read, once', async () => {
    const request = slowRequest(['Content-Length', '2'], { expectContinue: true });
    const reading = check.run(request.context);
    assert.deepEqual(request.continues, [1]);
    request.end('{}');
    assert.equal(await outcomeOf(request.context, reading), null);
    assert.deepEqual(request.continues, [1]);
    request.close();
  });

  const refusedBeforeReading: Array<[name: string, framing: ['Content-Length', string]]> = [
    ['a body over its limit', ['Content-Length', '101']],
    ['a body the budget cannot hold beside another', ['Content-Length', '100']],
  ];
  for (const [name, framing] of refusedBeforeReading) {
    it(`sends no 100 Continue for a request refused before its body is read: ${name}`, () => {
      const holder = slowRequest(['Content-Length', '1']);
      void check.run(holder.context);
      const request = slowRequest(framing, { expectContinue: true });
      const outcome = check.run(request.context) as Denial;
      assert.ok(!(outcome instanceof Promise) && outcome !== null);
      assert.deepEqual(request.continues, []);
      holder.close();
      request.close();
    });
  }

  it('sends no 100 Continue to a client that did not ask for it', async () => {
    const request = slowRequest(['Content-Length', '2']);
    const reading = check.run(request.context);
    request.end('{}');
    assert.equal(await outcomeOf(request.context, reading), null);
    assert.deepEqual(request.continues, []);
    request.close();
  });
});
