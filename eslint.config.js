import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importGraph from './eslint-rules/import-graph.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'test-artifacts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message:
            'Only src/platform/config/load-config.ts reads process.env; take configuration as a parameter.',
        },
      ],
    },
  },
  {
    files: [
      'src/platform/config/load-config.ts',
      'src/main.ts',
      'scripts/**',
      'test/**',
      'jest.config.js',
      'cli/**',
      'bin/**',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // The reference CLI is a client of Keyward's HTTP API: it never imports the server's code.
    files: ['cli/**/*.ts', 'bin/**/*.js'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/**'],
              message: 'The CLI talks to Keyward over HTTP only; do not import server code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['views/static/**/*.js'],
    languageOptions: {
      globals: {
        document: 'readonly',
        navigator: 'readonly',
        window: 'readonly',
        atob: 'readonly',
        btoa: 'readonly',
      },
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*-repository.ts', 'src/platform/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'mongoose',
              message: 'Only repositories (*-repository.ts) and src/platform/db touch mongoose.',
            },
          ],
        },
      ],
    },
  },
  {
    // The direction of dependencies (README "Architecture"): the platform kernel never imports a
    // feature or the composition root; features never import the composition root; no cycles,
    // type-only imports included.
    files: ['src/**/*.ts'],
    plugins: { 'import-graph': importGraph },
    rules: { 'import-graph/layers': 'error', 'import-graph/no-cycle': 'error' },
  },
);
