/**
 * Builds the dashboard (web/ → dist/dashboard/) with Vite when the build is missing or older
 * than its sources. `npm start` and `npm test` run it first (prestart, pretest), so a fresh
 * clone serves and tests a current dashboard without a manual build; `npm run build` always
 * rebuilds. The built files are not committed.
 *
 *   node scripts/build-dashboard.ts          # build only when stale
 *   node scripts/build-dashboard.ts --force  # always build
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const OUTPUT = join(ROOT, 'dist', 'dashboard', 'index.html');
const SOURCES = [join(ROOT, 'web'), join(ROOT, 'vite.config.ts'), join(ROOT, 'package-lock.json')];

function newestModification(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestModification(join(path, entry)));
  return newest;
}

/** True when dist/dashboard is missing or older than web/, vite.config.ts or the lock file. */
export function dashboardIsStale(): boolean {
  if (!existsSync(OUTPUT)) return true;
  const built = statSync(OUTPUT).mtimeMs;
  return SOURCES.some((source) => existsSync(source) && newestModification(source) > built);
}

export async function buildDashboard(options: { force?: boolean } = {}): Promise<boolean> {
  if (!options.force && !dashboardIsStale()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'vite.config.ts'), root: join(ROOT, 'web'), logLevel: 'warn' });
  return true;
}

if (import.meta.main) {
  const built = await buildDashboard({ force: process.argv.includes('--force') });
  process.stdout.write(built ? 'dashboard built into dist/dashboard/\n' : 'dashboard is up to date (dist/dashboard/)\n');
}
