import { chmodSync, closeSync, constants, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const PRIVATE_FOLDER = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Makes a new SQLite database private to its owner before SQLite opens it: the folders on the
 * way that do not exist yet are created `0700`, and the file itself, if it does not exist yet,
 * is created empty (SQLite reads an empty file as a new database) with `0600`. Both are set
 * with chmod after creation, because the mode given to `mkdir` and `open` is cut by the umask.
 * SQLite creates the `-wal`, `-shm` and `-journal` files with the database file's permission
 * bits (overriding the umask), so they are private too.
 *
 * Existing folders and files keep their permissions: they are the operator's choice.
 *
 * @example
 * preparePrivateDatabaseFile('./data/portcullis.db'); // then new Database('./data/portcullis.db')
 */
export function preparePrivateDatabaseFile(path: string): void {
  createPrivateFolders(dirname(resolve(path)));
  let descriptor: number;
  try {
    // O_EXCL: never touch a file (or a symlink) that is already there.
    descriptor = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    fchmodSync(descriptor, PRIVATE_FILE);
  } finally {
    closeSync(descriptor);
  }
}

/** Creates `folder` and its missing parents, each `0700` whatever the umask. */
function createPrivateFolders(folder: string): void {
  const first = mkdirSync(folder, { recursive: true, mode: PRIVATE_FOLDER });
  if (first === undefined) return;
  // Every folder from `folder` up to `first` was made by this call.
  for (let current = folder; ; current = dirname(current)) {
    chmodSync(current, PRIVATE_FOLDER);
    if (current === first || current === dirname(current)) return;
  }
}
