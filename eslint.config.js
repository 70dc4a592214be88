import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { layersPlugin } from './eslint/layers.js';

/** `db('users')`, `trx(table)`, `this.db('…')`, `hub.db.raw(…)`, `db.schema…`: knex, called outside src/queries/ and src/db/. */
function knexOutsideQueries() {
  const knexName = '/^(db|trx|tx|knex)$/';
  const message = 'Only src/queries/ and src/db/ call knex: use the module in src/queries/ that owns the table (one per table), passing it the transaction if you hold one.';
  return [
    `CallExpression[callee.type='Identifier'][callee.name=${knexName}]`,
    `CallExpression[callee.type='MemberExpression'][callee.property.name=${knexName}]`,
    `CallExpression[callee.type='MemberExpression'][callee.property.name='raw']`,
    `MemberExpression[property.name='schema'][object.name=${knexName}]`,
    `MemberExpression[property.name='schema'][object.property.name=${knexName}]`,
  ].map((selector) => ({ selector, message }));
}

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'public/vendor/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { layers: layersPlugin },
    rules: { 'layers/imports-point-down': 'error' },
  },
  {
    // Storage is touched in one place: each table has one module in src/queries/ that reads and
    // writes it (test/foundation/table-owners.test.ts); src/db/ is the plumbing under them.
    files: ['src/**/*.ts'],
    ignores: ['src/queries/**', 'src/db/**'],
    rules: {
      'no-restricted-syntax': ['error', ...knexOutsideQueries()],
    },
  },
  {
    files: ['public/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
