import { UsageError, stringValue, type StandaloneCommand } from './command.ts';

const workersPattern = /^(auto|[1-9]\d{0,2})$/;

export const startCommand: StandaloneCommand = {
  name: 'start',
  summary: 'Run the hub (as `npm start` does), in one process or several',
  usage: 'start [--workers <n|auto>]',
  options: { workers: { type: 'string' } },
  optionHelp: [{ flag: '--workers <n|auto>', text: 'hub processes serving the one port (default WORKERS, else 1); "auto": one per core. Needs DATABASE_URL and REDIS_URL' }],
  examples: ['uniqverse start', 'DATABASE_URL=postgres://… REDIS_URL=redis://… uniqverse start --workers auto'],
  notes: ['Stops on SIGINT or SIGTERM, each process finishing the requests it serves. With the embedded database or without Redis it runs one process and says why.'],
  check(values) {
    const workers = stringValue(values, 'workers');
    if (workers !== undefined && !workersPattern.test(workers)) throw new UsageError(`--workers: a number of processes (1 to 999) or "auto", not "${workers}"`);
  },
  async standalone(config, values) {
    const { serve } = await import('../app/serve.ts');
    const workers = stringValue(values, 'workers');
    if (workers !== undefined) config.workers = workers === 'auto' ? 'auto' : Number(workers);
    // The command line has printed them already.
    await serve({ ...config, warnings: [] });
    // Serves until a signal ends the process.
    return new Promise(() => undefined);
  },
};
