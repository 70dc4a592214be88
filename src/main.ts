import { loadConfig } from './platform/config.ts';
import { exitOnStartFailure, serve } from './app/serve.ts';

try {
  await serve(loadConfig());
} catch (error) {
  exitOnStartFailure(error);
}
