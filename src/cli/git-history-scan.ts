import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KeyStreamSearch, looksBinary } from '../keys/key-search.ts';
import { UsageError } from './cli-support.ts';
import type { ScanTally, Sighting } from './scan-sources.ts';

/**
 * `scan --git`: every blob reachable from every ref (branches, tags, stashes, notes), read by
 * git itself, so a key that was committed and then deleted, or that lives only on an old
 * branch, is still found. Each blob is read once, however many commits hold it:
 *
 *   git rev-list --objects --all        every reachable object, with a path it was seen at
 *   git cat-file --batch-check          its type and size: blobs within the size limit
 *   git cat-file --batch                their contents, searched for keys
 *   git log --all --raw                 only when keys were found: the commits that added each
 *                                       such blob, and at which path
 */

interface GitBlob {
  sha: string;
  size: number;
  /** A path the blob was seen at (rev-list names one; the commits that added it say where). */
  path: string;
}

/** Where a blob was added: the commit and the path. */
interface BlobAddition {
  commit: string;
  path: string;
}

function startGit(repository: string, args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn('git', ['-C', repository, '-c', 'core.quotepath=off', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves when `child` exits 0; rejects naming the git command and its stderr otherwise. */
function finished(child: ChildProcessWithoutNullStreams, what: string): Promise<void> {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new Error('scan --git needs git, and it is not installed (or not on PATH)') : error));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${what} failed (exit ${code}): ${stderr.trim()}`))));
  });
}

/** Throws a usage error unless `repository` is (inside) a git repository. */
async function checkRepository(repository: string): Promise<void> {
  const child = startGit(repository, ['rev-parse', '--git-dir']);
  child.stdin.end();
  child.stdout.resume();
  try {
    await finished(child, 'git rev-parse');
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('scan --git needs git')) throw error;
    throw new UsageError(`scan --git: ${repository} is not a git repository`);
  }
}

/** The reachable blobs, each once, with their sizes. */
async function listBlobs(repository: string): Promise<GitBlob[]> {
  const revList = startGit(repository, ['rev-list', '--objects', '--all']);
  const check = startGit(repository, ['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)']);
  revList.stdin.end();
  revList.stdout.pipe(check.stdin);
  const blobs: GitBlob[] = [];
  const lines = createInterface({ input: check.stdout, crlfDelay: Infinity });
  const done = Promise.all([finished(revList, 'git rev-list --objects --all'), finished(check, 'git cat-file --batch-check')]);
  for await (const line of lines) {
    const [sha, type, size] = line.split(' ', 3);
    if (type === 'blob') blobs.push({ sha: sha as string, size: Number(size), path: line.slice((sha as string).length + (type as string).length + (size as string).length + 3) });
  }
  await done;
  return blobs;
}

/**
 * Reads `git cat-file --batch` output: for each object a header `<sha> <type> <size>\n`, its
 * bytes and a newline. Chunks are kept until an object is whole, then joined once.
 */
async function* blobContents(output: AsyncIterable<Buffer>): AsyncGenerator<{ sha: string; content: Buffer }> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let header: { sha: string; size: number } | null = null;
  for await (const chunk of output) {
    pending.push(chunk);
    pendingLength += chunk.length;
    for (;;) {
      const buffered = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingLength);
      pending = [buffered];
      if (header === null) {
        const newline = buffered.indexOf(0x0a);
        if (newline === -1) break;
        const [sha, type, size] = buffered.subarray(0, newline).toString('latin1').split(' ');
        // A blob missing from this clone (`<sha> missing`, a partial clone) has no contents to read.
        if (type !== 'missing') header = { sha: sha as string, size: Number(size) };
        pending = [buffered.subarray(newline + 1)];
        pendingLength = buffered.length - newline - 1;
        continue;
      }
      if (pendingLength < header.size + 1) break;
      yield { sha: header.sha, content: buffered.subarray(0, header.size) };
      pending = [buffered.subarray(header.size + 1)];
      pendingLength -= header.size + 1;
      header = null;
    }
  }
}

/** The commits (all refs, whole history) that added each of `shas`, and the path they added it at. */
async function additionsOf(repository: string, shas: ReadonlySet<string>): Promise<Map<string, BlobAddition[]>> {
  const log = startGit(repository, ['log', '--all', '--raw', '--no-abbrev', '--no-renames', '--format=commit %H']);
  log.stdin.end();
  const done = finished(log, 'git log --all --raw');
  const additions = new Map<string, BlobAddition[]>();
  let commit = '';
  for await (const line of createInterface({ input: log.stdout, crlfDelay: Infinity })) {
    if (line.startsWith('commit ')) commit = line.slice(7);
    else if (line.startsWith(':')) {
      // `:<old mode> <new mode> <old sha> <new sha> <status>\t<path>`
      const tab = line.indexOf('\t');
      const newSha = line.slice(0, tab).split(' ')[3] as string;
      if (!shas.has(newSha)) continue;
      const list = additions.get(newSha) ?? [];
      list.push({ commit, path: line.slice(tab + 1) });
      additions.set(newSha, list);
    }
  }
  await done;
  return additions;
}

/**
 * Scans the whole history of the repository at `repository`. Blobs larger than `maxBlobSize`,
 * and binary ones, are counted as skipped. Calls `onSighting` for each key, with the path and
 * the commits that added the blob (oldest first).
 */
export async function scanGitHistory(repository: string, maxBlobSize: number, tally: ScanTally, onSighting: (sighting: Sighting) => void): Promise<void> {
  await checkRepository(repository);
  const blobs = (await listBlobs(repository)).filter((blob) => {
    if (blob.size <= maxBlobSize) return true;
    tally.skip(`${repository}@${blob.sha}:${blob.path}`, 'too large');
    return false;
  });
  const byBlob = new Map<string, Array<Omit<Sighting, 'path' | 'commits'>>>();
  const paths = new Map(blobs.map((blob) => [blob.sha, blob.path]));
  const batch = startGit(repository, ['cat-file', '--batch']);
  const done = finished(batch, 'git cat-file --batch');
  batch.stdin.end(blobs.map((blob) => `${blob.sha}\n`).join(''));
  for await (const { sha, content } of blobContents(batch.stdout)) {
    if (looksBinary(content)) {
      tally.skip(`${repository}@${sha}:${paths.get(sha) ?? ''}`, 'binary');
      continue;
    }
    tally.scanned(content.length);
    const search = new KeyStreamSearch();
    const found = [...search.push(content.toString('latin1')), ...search.end()];
    if (found.length > 0) byBlob.set(sha, found.map((sighting) => ({ ...sighting, blob: sha })));
  }
  await done;
  if (byBlob.size === 0) return;
  const additions = await additionsOf(repository, new Set(byBlob.keys()));
  for (const [sha, sightings] of byBlob) {
    // git log lists the newest commit first.
    const added = (additions.get(sha) ?? []).reverse();
    for (const sighting of sightings) onSighting({ ...sighting, path: added[0]?.path ?? paths.get(sha) ?? '', commits: added.map((addition) => addition.commit) });
  }
}
