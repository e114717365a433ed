// Builds the dashboard (web/) into dist/dashboard/, which the admin listener serves.
// `npm run build` runs it after the type checks; see docs/architecture.md ("Dashboard").
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/dashboard',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline scripts or styles: the admin listener's Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
