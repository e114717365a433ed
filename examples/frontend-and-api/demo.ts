/**
 * `npm run demo`: starts the example (stack.ts) on its usual ports, prints what is where and
 * a few things to try, and stops everything on Ctrl-C.
 */
import { relative } from 'node:path';
import { DEMO_PORTS, EXAMPLE_FOLDER, PROJECT_ROOT, revokeCommand, startStack } from './stack.ts';

const stateFolder = `${EXAMPLE_FOLDER}/.demo`;
process.stdout.write('Starting the frontend-and-api example (certificates, keys, API, Portcullis, two frontends)…\n');
const stack = await startStack({ stateFolder, ports: DEMO_PORTS }).catch((error: unknown) => {
  process.stderr.write(`\nThe demo could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write(`(Ports ${Object.values(DEMO_PORTS).join(', ')} must be free; the logs are in ${stateFolder}/logs/.)\n`);
  process.exit(1);
});
const [one, two] = stack.frontends;
const here = (path: string) => relative(PROJECT_ROOT, path);
const store = here(stack.store);
const certs = here(stack.certFolder);

process.stdout.write(`
Running (state, certificates, key store and logs in ${here(stack.stateFolder)}/):

  Frontend instance 1   ${one.url}   (connects to Portcullis from ${one.sourceAddress}, key ${one.keyId})
  Frontend instance 2   ${two.url}   (connects to Portcullis from ${two.sourceAddress}, key ${two.keyId})
  Portcullis            ${stack.portcullisUrl}   (TLS only; allows ${one.sourceAddress} and ${two.sourceAddress})
  Admin dashboard       http://127.0.0.1:${DEMO_PORTS.admin}   (loopback only; log in with a token from: ./bin/portcullis admin token create --role write --store ${stack.store})
  Shop API (internal)   ${stack.apiUrl}   (mutual TLS: accepts only Portcullis's client certificate)
  Logs                  ${here(stack.stateFolder)}/logs/

Things to try, from the project folder in another terminal:

  1. Open both frontends in a browser. Each page shows products fetched through Portcullis,
     refreshed every 500 ms, and the key the API saw ("frontend-1" or "frontend-2").

  2. Instance 2 is compromised: revoke its key, and watch its page show
     "Error from API: key_revoked" within a second, while instance 1 keeps working:

       ${revokeCommand(stack, two.keyId)}

     (or every frontend key at once: ./bin/portcullis keys revoke --tag frontend --store ${store})

  3. Place an order on a page with quantity 0 or 11: Portcullis refuses it against the API's
     OpenAPI document (request_invalid) before the API sees it. Or from the shell:

       curl -s -X POST ${one.url}api/orders -H 'content-type: application/json' -d '{"productId":"p1","quantity":99}'

  4. Call Portcullis yourself, from an address that is not a frontend's: 403 ip_not_allowed
     (the key would not matter; it is never looked at):

       curl -s --cacert ${certs}/ca.crt --interface 127.0.0.13 ${stack.portcullisUrl}/products

     Without TLS, there is nothing to talk to:  curl -s http://127.0.0.1:${new URL(stack.portcullisUrl).port}/products

  5. Go around Portcullis, straight to the API: the TLS handshake fails (no client certificate):

       curl -s --cacert ${certs}/ca.crt ${stack.apiUrl}/products

  6. Ask the API faster than a frontend's key allows (20/s, burst 40): rate_limited.

       for i in $(seq 80); do curl -s ${one.url}api/products | grep -o rate_limited; done | sort | uniq -c

  7. See the keys: ./bin/portcullis keys list --store ${store}

Press Ctrl-C to stop everything.
`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nStopping…\n');
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
