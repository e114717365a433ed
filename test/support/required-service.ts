/**
 * Tests that need an outside service (PostgreSQL, Redis, initdb binaries) must not pass
 * silently where the service is missing. When the environment variable CI is set they FAIL
 * with the reason; otherwise they are skipped with the reason, so a developer without the
 * service still gets a green run and a clear note.
 *
 * @example
 * const postgres = await checkTestPostgres();
 * describeNeeding(postgres, 'PostgresKeyStore', () => { it(…) });
 */
import { describe, it } from 'node:test';

export interface ServiceCheck {
  /** What the tests need, as a person would name it: "PostgreSQL at 127.0.0.1:5432". */
  service: string;
  /** Null when the service is there; otherwise why not, and how to provide it. */
  unavailable: string | null;
}

export function describeNeeding(check: ServiceCheck, title: string, body: () => void): void {
  if (check.unavailable === null) {
    describe(title, body);
    return;
  }
  const reason = `needs ${check.service}: ${check.unavailable}`;
  if (process.env.CI) {
    describe(title, () => {
      it(`has ${check.service} (required when CI is set)`, () => {
        throw new Error(reason);
      });
    });
  } else {
    describe(title, { skip: `${reason} (skipped; set CI=1 to make this a failure)` }, body);
  }
}
