// ESLint flat config. typescript-eslint's `recommended` set needs no type information, so
// linting stays fast; `npm run lint` runs `tsc` after ESLint for everything type-level, and
// dependency-cruiser for the layers (.dependency-cruiser.cjs).
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/', 'data/', '.bench/', 'dist/', 'test-results/', '.scratch/', 'src/config/precompiled/'] },
  tseslint.configs.recommended,
  {
    // A function longer than this usually holds two ideas: split it, or say beside it why not.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
);
