// ESLint (flat config): typescript-eslint's recommended rules over the TypeScript of lib/, spec/, bench/ and
// test-support/, and eslint's over the JavaScript of scripts/ and spec/. `npm run lint`; CI runs it (.ci/run).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'native/build/', 'models/', 'coverage/'] },
  // A disable comment that no longer disables anything is an error (every one left names its reason after ` -- `).
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['lib/**/*.ts', 'spec/**/*.ts', 'bench/**/*.ts', 'test-support/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      // Unused names are errors, except those marked unused on purpose with a leading underscore.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read JSON fixtures and build hostile files field by field: untyped data is what they handle.
    files: ['spec/**/*.ts', 'test-support/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['scripts/**/*.js', 'spec/**/*.js', 'jest.config.js'],
    extends: [js.configs.recommended],
    languageOptions: {
      sourceType: 'commonjs',
      // Node's CommonJS globals (named here rather than through another dependency).
      globals: Object.fromEntries(
        ['require', 'module', 'exports', '__dirname', '__filename', 'process', 'console', 'Buffer', 'setTimeout', 'clearTimeout', 'URL', 'TextDecoder', 'TextEncoder'].map((n) => [n, 'readonly']),
      ),
    },
  },
);
