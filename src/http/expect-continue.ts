import type { ServerResponse } from 'node:http';

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1), answered by the gateway, not by Node. A client
 * that sends it waits for `100 Continue` before it sends the body; Node would send that before
 * any check ran, inviting the body of a request the gateway is about to refuse. So the listener
 * marks the response (its `checkContinue` handler), and `100 Continue` goes out only when
 * every check has passed, just before the body is read (to validate it) or streamed upstream.
 * A refused request gets its final answer without 100, and its connection closed.
 */

const kAwaitingContinue = Symbol('portcullis.awaitingContinue');

interface ContinueResponse extends ServerResponse {
  [kAwaitingContinue]?: boolean;
}

/** The client asked for `100 Continue` and has not had it. */
export function awaitContinue(res: ServerResponse): void {
  (res as ContinueResponse)[kAwaitingContinue] = true;
}

/** Sends `100 Continue` if the client is waiting for it (once); the body is about to be read. */
export function continueIfAwaited(res: ServerResponse): void {
  const response = res as ContinueResponse;
  if (response[kAwaitingContinue] !== true) return;
  response[kAwaitingContinue] = false;
  res.writeContinue();
}
