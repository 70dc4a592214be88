export default {
  extensions: { ts: 'module' },
  files: ['test/**/*.test.ts'],
  timeout: '120s',
  concurrency: 2,
  workerThreads: false,
  // The hub runs with AsyncLocalStorage carried by V8 (src/app/node-flags.ts); the hubs the tests
  // start in their own processes are held to the same.
  nodeArguments: ['--experimental-async-context-frame'],
};
