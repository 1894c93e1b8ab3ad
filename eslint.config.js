// ESLint for the TypeScript (type-aware, through the project's tsconfig) and
// the page script (browser globals; its types are checked by tsc with
// tsconfig.page.json). Zero warnings: `npm run lint` fails on any.

import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['build/', 'node_modules/', 'test/**/artifacts/', 'test/**/fixtures/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/page/app.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, uPlot: 'readonly' } },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ignores: ['src/page/app.js'],
    languageOptions: { globals: globals.node },
  },
);
