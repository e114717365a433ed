/**
 * The `PORTCULLIS_*` environment variables that are not options, all in one place. Every other
 * `PORTCULLIS_*` variable must name an option (`PORTCULLIS_NETWORK_ALLOW`), or the loader
 * refuses to start (exit 2) with a did-you-mean: a misspelt variable must never silently leave
 * a protection off.
 */
export const NON_OPTION_VARIABLES: Readonly<Record<string, string>> = {
  PORTCULLIS_CONFIG: 'the config file, when `--config` is not given',
  PORTCULLIS_BANNER: '`1` prints the start banner of `serve` even when stderr is not a terminal',
  // Set by the supervisor of `--workers N` for its workers (src/workers/worker-messages.ts).
  PORTCULLIS_INTERNAL_WORKER_PORT: 'set by the supervisor of `--workers N`: the port a worker listens on',
  PORTCULLIS_INTERNAL_WORKER_ADMIN: 'set by the supervisor of `--workers N`: the worker that serves the admin listener',
  // The example of docs/guide-protect-your-api.md: read by its frontend servers, not by the gateway.
  PORTCULLIS_URL: 'read by the frontend servers of examples/frontend-and-api, not by the gateway',
  PORTCULLIS_CA: 'read by the frontend servers of examples/frontend-and-api, not by the gateway',
  // The tests' own settings (README.md, "Development").
  PORTCULLIS_CHROMIUM: 'tests: the Chromium the browser tests drive; `chromium` on PATH when unset',
  PORTCULLIS_TEST_POSTGRES_URL: 'tests: the PostgreSQL server the tests use',
  PORTCULLIS_TEST_PG_BIN: 'tests: the folder of initdb and pg_ctl for the private PostgreSQL server',
  PORTCULLIS_DIFFERENTIAL_RUNS: 'tests: generated cases per upstream of the differential test',
  PORTCULLIS_DIFFERENTIAL_SEED: "tests: fast-check's seed for the differential test",
};
