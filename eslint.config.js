import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'test-artifacts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', {
        selector: "MemberExpression[object.name='process'][property.name='env']",
        message: 'Only src/config/load-config.ts reads process.env; take configuration as a parameter.',
      }],
    },
  },
  {
    files: ['src/config/load-config.ts', 'src/main.ts', 'scripts/**', 'test/**', 'jest.config.js', 'cli/**', 'bin/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // The reference CLI is a client of Keyward's HTTP API: it never imports the server's code.
    files: ['cli/**/*.ts', 'bin/**/*.js'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/**'], message: 'The CLI talks to Keyward over HTTP only; do not import server code.' }] }] },
  },
  {
    files: ['views/static/**/*.js'],
    languageOptions: { globals: { document: 'readonly', navigator: 'readonly', window: 'readonly', atob: 'readonly', btoa: 'readonly' } },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/repositories/**', 'src/db/**', 'src/features/*/*-repository.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'mongoose', message: 'Only repositories and src/db touch mongoose.' }] }],
    },
  },
);
