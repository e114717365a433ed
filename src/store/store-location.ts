/**
 * What the `store` setting names: a `postgres://` (or `postgresql://`) URL, or else the path
 * of a SQLite database file. Kept apart from the stores so that callers can decide without
 * loading either driver.
 */

const postgresUrl = /^postgres(?:ql)?:\/\//i;

export function isPostgresLocation(location: string): boolean {
  return postgresUrl.test(location);
}

/** Whether the location is a SQLite database in memory, which a second connection would not see (it would get one of its own). */
export function isInMemoryLocation(location: string): boolean {
  return location === '' || location === ':memory:' || /^file:.*[?&]mode=memory(?:&|$)/.test(location);
}

/**
 * The location as it may be printed or logged: a PostgreSQL URL loses its password (and any
 * `password` query parameter), a file path is returned as it is.
 *
 * @example
 * describeStoreLocation('postgres://app:s3cret@db:5432/keys') // 'postgres://app:***@db:5432/keys'
 */
export function describeStoreLocation(location: string): string {
  if (!isPostgresLocation(location)) return location;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return 'postgres://(unparsable URL)';
  }
  if (url.password !== '') url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  return url.href;
}
