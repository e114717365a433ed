/**
 * Tests that need an outside service (PostgreSQL, Redis, initdb binaries) or a system tool
 * (sslscan, Chromium, openssl, curl, python3) must not pass silently where it is missing. When
 * the environment variable CI is set they FAIL with the reason; otherwise they are skipped
 * with ONE line that names what is missing and how to install it, so a developer without it
 * still gets a green run and a clear note.
 *
 * @example
 * const postgres = await checkTestPostgres();
 * describeNeeding(postgres, 'PostgresKeyStore', () => { it(…) });
 * describeNeeding(requireTools('curl', 'openssl'), 'TLS with real clients', () => { it(…) });
 * itNeeding(requireTools('sslscan'), 'offers strong ciphers only', async () => { … });
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

export interface ServiceCheck {
  /** What the tests need, as a person would name it: "PostgreSQL at 127.0.0.1:5432". */
  service: string;
  /** Null when the service is there; otherwise why not, and how to provide it. */
  unavailable: string | null;
}

export function describeNeeding(check: ServiceCheck, title: string, body: () => void, options: { timeout?: number } = {}): void {
  if (check.unavailable === null) {
    describe(title, options, body);
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

/** One test that needs `check`: as `describeNeeding`, for a suite whose other tests need nothing. */
export function itNeeding(check: ServiceCheck, title: string, body: (context: TestContext) => Promise<void> | void): void {
  if (check.unavailable === null) {
    it(title, body);
    return;
  }
  const reason = `needs ${check.service}: ${check.unavailable}`;
  if (process.env.CI) {
    it(title, () => {
      throw new Error(`${reason} (required when CI is set)`);
    });
  } else {
    it(title, { skip: `${reason} (skipped; set CI=1 to make this a failure)` }, body);
  }
}

/** The system tools tests drive, with the Debian package that installs each. */
const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  sslscan: 'sslscan',
  chromium: 'chromium',
  openssl: 'openssl',
  curl: 'curl',
  python3: 'python3',
};

/** The executable `command` names: itself when it is a path, else the first match on PATH; null when there is none. */
export function findExecutable(command: string): string | null {
  const candidates = isAbsolute(command) ? [command] : (process.env.PATH ?? '').split(delimiter).filter((folder) => folder !== '').map((folder) => join(folder, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here: the next folder.
    }
  }
  return null;
}

/**
 * Whether every tool is on PATH (or, given as a path, there), checked synchronously because
 * `describeNeeding` decides at load. Names each missing tool and the package that installs it.
 */
export function requireTools(...tools: string[]): ServiceCheck {
  const missing = tools.filter((tool) => findExecutable(tool) === null);
  const packages = missing.map((tool) => TOOL_PACKAGES[tool] ?? tool);
  return {
    service: tools.join(' and '),
    unavailable: missing.length === 0 ? null : `${missing.join(', ')} not found on PATH; install with: apt-get install ${packages.join(' ')}`,
  };
}
