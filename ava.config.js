export default {
  extensions: { ts: 'module' },
  files: ['test/**/*.test.ts'],
  timeout: '120s',
  concurrency: 2,
  workerThreads: false,
};
