// ESLint flat config. typescript-eslint's `recommended` set needs no type information, so
// linting stays fast; `npm run lint` runs `tsc` after ESLint for everything type-level.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/', 'data/', '.bench/', 'dist/', 'test-results/', '.scratch/'] },
  tseslint.configs.recommended,
);
