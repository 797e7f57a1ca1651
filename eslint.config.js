// Layers by runtime, checked rather than hoped for (see docs/architecture.md):
//   src/contract  common: zod only, no Node, no DOM
//   src/core, src/providers, native-models  Node: no Electron, no DOM/React
//   src/server, src/cli, main  hosts over the core
//   preload  the Electron bridge
//   renderer  DOM + React: may import src/contract and nothing else of ours
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['node:*', 'fs', 'path', 'os', 'child_process', 'http', 'https', 'net', 'crypto', 'worker_threads', 'stream'];
const UI = ['react', 'react-dom', 'react-dom/*', 'zustand', 'zustand/*'];
const ELECTRON = ['electron', 'electron-store'];

const ORT_ONLY_IN_BACKEND = { name: 'onnxruntime-node', message: 'Only native-models/src/backend/ort.ts talks to ONNX Runtime.' };
const HOSTS = ['**/main/**', '**/renderer/**', '**/preload/**', '**/server/**', '**/cli/**'];

/** One rule per folder: in flat config a later `no-restricted-imports` replaces an earlier one, so each layer states all of its limits. */
const layer = (files, groups, message, { ignores, ort = true } = {}) => ({
  files,
  ...(ignores ? { ignores } : {}),
  rules: {
    'no-restricted-imports': ['error', { paths: ort ? [ORT_ONLY_IN_BACKEND] : [], patterns: [{ group: groups, message }] }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'test-results/**', '.gl/**', '.whl/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  layer(['src/contract/**/*.ts'], [...NODE_BUILTINS, ...UI, ...ELECTRON, '**/core/**', '**/providers/**', '**/native-models/**', ...HOSTS], 'src/contract is shared by every runtime: zod and plain TypeScript only.'),
  layer(['src/core/**/*.ts', 'src/providers/**/*.ts'], [...UI, ...ELECTRON, ...HOSTS], 'The core is Electron-agnostic and UI-free; hosts depend on it, never the reverse.'),
  layer(['native-models/src/**/*.ts'], [...UI, ...ELECTRON, ...HOSTS, '**/src/core/**', '**/src/providers/**'], 'native-models is Node-only and knows nothing of the app around it.', {
    ignores: ['native-models/src/backend/ort.ts'],
  }),
  layer(['native-models/src/backend/ort.ts'], [...UI, ...ELECTRON, ...HOSTS], 'native-models is Node-only.', { ort: false }),
  layer(['src/server/**/*.ts', 'src/cli/**/*.ts', 'main/**/*.ts', 'preload/**/*.cts', 'test/**/*.ts'], [...UI], 'React and zustand belong to the renderer.'),
  {
    files: ['renderer/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...NODE_BUILTINS, ...ELECTRON, 'onnxruntime-node', 'keytar', 'sharp', 'better-sqlite3', 'pg', '**/src/core/**', '**/src/providers/**', '**/src/server/**', '**/src/cli/**', '**/native-models/**', '**/main/**'],
              message: 'The renderer runs in a sandboxed browser page: it reaches the core only through the contract (src/contract) and the bridge.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/vite.config.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-restricted-imports': 'off' },
  },
);
